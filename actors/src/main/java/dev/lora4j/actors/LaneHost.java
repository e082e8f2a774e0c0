package dev.lora4j.actors;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * The device lanes of one node and the trials trained on them. Lanes ({@link Trainer}s, one pinned thread each) are
 * its children, replaced at once when one dies; each trial's work on this node (its model, its data, its turn on a
 * lane) is a {@link TrialAttempt} child, started for the trial's session wherever that session runs. A coordinator's
 * own lanes are started on demand ({@link Ensure}, per the sweep's resources); a worker's are fixed when it starts
 * and registered with the cluster's receptionist under {@link #KEY}, where every coordinator's {@link DevicePool}
 * finds them. A pool {@link Subscribe}s and is told this host's lanes now and whenever they change.
 */
public final class LaneHost extends AbstractBehavior<LaneHost.Command> {

    /** Workers' lane hosts, as the receptionist lists them. */
    public static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "lora4j-lanes");

    public sealed interface Command {}

    /** Starts lanes for these devices unless some run already (the first layout of a device wins). */
    public record Ensure(List<DevicePool.DeviceLayout> devices) implements Command, LocalOnly {}

    /** A pool wants this host's lanes: it gets {@link DevicePool.HostLanes} now and after every change. */
    public record Subscribe(ActorRef<DevicePool.Command> pool) implements Command, CrossNode {}

    /**
     * Trains one attempt of a trial on {@code lane} for {@code session}: a {@link TrialAttempt} gets the model and
     * data on this node, trains, and reports to the session.
     *
     * @param trial the trial (its spec within one JVM, its tree between nodes)
     * @param resumeStep the step of the checkpoint the session sends next, or -1 for a fresh start
     * @param data the trial's data files as they are on the session's node
     */
    public record StartAttempt(TrialTree trial, int attempt, DeviceSlot slot, ActorRef<Trainer.Command> lane,
            int batchSize, int accumulation, String metric, boolean maximize, List<Long> extraEvaluations,
            boolean verdicts, long resumeStep, List<NodeFiles.DataFile> data,
            ActorRef<TrialSession.Command> session) implements Command, CrossNode {}

    private record LaneStopped(String device, int lane, ActorRef<Trainer.Command> ref) implements Command, LocalOnly {}

    private record PoolStopped(ActorRef<DevicePool.Command> pool) implements Command, LocalOnly {}

    /** What an attempt on this node works with. */
    public record Node(String name, ActorRef<ModelInjector.Command> injector, ActorRef<DataLoader.Command> data,
            NodeFiles files) {}

    /**
     * @param lanes lanes to start at once (a worker's); more can be {@link Ensure}d
     * @param register whether to offer the lanes to the cluster (a worker) or only to the pools that subscribe
     */
    public static Behavior<Command> create(Node node, TrainingRun.Factory runs, List<DevicePool.DeviceLayout> lanes,
            boolean register) {
        return Behaviors.setup(ctx -> {
            LaneHost host = new LaneHost(ctx, node, runs);
            host.ensure(lanes);
            if (register) {
                ctx.getSystem().receptionist().tell(Receptionist.register(KEY, ctx.getSelf()));
            }
            return host;
        });
    }

    private static final class Lane {
        final DeviceSlot slot;
        ActorRef<Trainer.Command> ref;
        int replaced;

        Lane(DeviceSlot slot) {
            this.slot = slot;
        }
    }

    private static final AtomicLong ATTEMPTS = new AtomicLong();

    private final Node node;
    private final TrainingRun.Factory runs;
    private final Map<String, List<Lane>> lanes = new LinkedHashMap<>();
    private final Set<ActorRef<DevicePool.Command>> pools = new HashSet<>();

    private LaneHost(ActorContext<Command> ctx, Node node, TrainingRun.Factory runs) {
        super(ctx);
        this.node = node;
        this.runs = runs;
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Ensure.class, m -> {
                    if (ensure(m.devices())) {
                        offer();
                    }
                    return this;
                })
                .onMessage(Subscribe.class, m -> {
                    if (pools.add(m.pool())) {
                        getContext().watchWith(m.pool(), new PoolStopped(m.pool()));
                    }
                    m.pool().tell(lanes());
                    return this;
                })
                .onMessage(PoolStopped.class, m -> {
                    pools.remove(m.pool());
                    return this;
                })
                .onMessage(StartAttempt.class, m -> {
                    getContext().spawn(TrialAttempt.create(m, node),
                            "attempt-" + m.trial().id() + "-" + m.attempt() + "-"
                                    + ATTEMPTS.incrementAndGet(), DispatcherSelector.blocking());
                    return this;
                })
                .onMessage(LaneStopped.class, this::onLaneStopped)
                .onSignal(PreRestart.class, s -> {
                    // the lanes stop with the restart and the subscriptions are forgotten: the pools ask again
                    pools.forEach(p -> p.tell(new DevicePool.HostRestarted(getContext().getSelf())));
                    return this;
                })
                .build();
    }

    /** Starts the lanes of devices that have none yet; true if any started. */
    private boolean ensure(List<DevicePool.DeviceLayout> devices) {
        boolean started = false;
        for (DevicePool.DeviceLayout d : devices) {
            if (lanes.containsKey(d.device())) {
                continue;
            }
            List<Lane> out = new ArrayList<>();
            for (int i = 0; i < d.lanes(); i++) {
                Lane lane = new Lane(new DeviceSlot(d.device(), i, d.threadsPerLane()));
                spawn(lane);
                out.add(lane);
            }
            lanes.put(d.device(), out);
            started = true;
            getContext().getLog().debug("started {} lane(s) on {} with {} thread(s) each", d.lanes(), d.device(),
                    d.threadsPerLane());
        }
        return started;
    }

    private void spawn(Lane lane) {
        String name = "lane-" + lane.slot.laneName() + (lane.replaced == 0 ? "" : "-" + lane.replaced);
        lane.ref = getContext().spawn(Trainer.create(lane.slot.threads(), runs), name,
                DispatcherSelector.fromConfig("lora4j.trainer-dispatcher"));
        getContext().watchWith(lane.ref, new LaneStopped(lane.slot.device(), lane.slot.lane(), lane.ref));
    }

    private Behavior<Command> onLaneStopped(LaneStopped m) {
        for (Lane lane : lanes.getOrDefault(m.device(), List.of())) {
            if (lane.slot.lane() == m.lane() && lane.ref.equals(m.ref())) {
                lane.replaced++;
                getContext().getLog().warn("lane {} stopped; starting a fresh one in its place (its trials retry)",
                        lane.slot.laneName());
                spawn(lane);
                offer();
            }
        }
        return this;
    }

    private void offer() {
        DevicePool.HostLanes now = lanes();
        pools.forEach(p -> p.tell(now));
    }

    private DevicePool.HostLanes lanes() {
        List<DevicePool.LaneOffer> out = new ArrayList<>();
        for (List<Lane> ls : lanes.values()) {
            for (Lane lane : ls) {
                out.add(new DevicePool.LaneOffer(lane.slot, lane.ref, lane.replaced));
            }
        }
        return new DevicePool.HostLanes(getContext().getSelf(), node.name(), out);
    }
}
