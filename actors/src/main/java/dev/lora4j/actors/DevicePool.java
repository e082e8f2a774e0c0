package dev.lora4j.actors;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * The device lanes of one lora4j instance and who trains on them. Lanes ({@link Trainer}s, one pinned thread each)
 * are this actor's children, started when a lease first names their device; every sweep on the instance shares
 * them, so two sweeps never oversubscribe the cores. A lease is granted on the least busy lane of an allowed device
 * that has room for one more trial ({@code trials_per_device}); otherwise it waits, first come first served, and that
 * wait is the pipeline's backpressure. A lane that dies is replaced by a fresh one at once; the trials it held see it
 * die through their own watch. Holders are watched too: a holder that stops without releasing frees its lane.
 */
public final class DevicePool extends AbstractBehavior<DevicePool.Command> {

    public sealed interface Command {}

    /** Asks for a lane on one of {@code devices}; the answer comes when one has room. */
    public record Lease(ActorRef<?> holder, String trialId, List<DeviceLayout> devices, ActorRef<LeaseReply> replyTo)
            implements Command {}

    /** Gives a lane back, or withdraws a lease still waiting (either is fine to send more than once). */
    public record Release(ActorRef<?> holder) implements Command {}

    /**
     * A holder saw {@code lane} stop: it is replaced now, before that holder (or anyone) asks again, rather than when
     * the pool's own watch tells it (whichever comes first replaces it; the other is ignored).
     */
    public record LaneGone(ActorRef<Trainer.Command> lane) implements Command {}

    public record GetStatus(ActorRef<Status> replyTo) implements Command {}

    private record LaneStopped(String device, int lane, ActorRef<Trainer.Command> ref) implements Command {}

    private record HolderStopped(ActorRef<?> holder) implements Command {}

    public sealed interface LeaseReply {}

    public record Leased(DeviceSlot slot, ActorRef<Trainer.Command> lane) implements LeaseReply {}

    /** The pool restarted after a failure and forgot the lease; ask again. */
    public record LeaseLost(String reason) implements LeaseReply {}

    /** A lane, what trains on it (trial ids), and how many times it was replaced. */
    public record LaneStatus(DeviceSlot slot, ActorRef<Trainer.Command> ref, List<String> trials, int replaced) {}

    public record Status(List<LaneStatus> lanes, int waiting) {}

    /** A device and how to use it: lanes side by side, trials per lane, intra-op threads per lane. */
    public record DeviceLayout(String device, int lanes, int trialsPerLane, int threadsPerLane) {
        public DeviceLayout {
            if (lanes < 1 || trialsPerLane < 1 || threadsPerLane < 1) {
                throw new IllegalArgumentException("a device layout needs at least one lane, trial and thread: "
                        + device + " " + lanes + "x" + trialsPerLane + "x" + threadsPerLane);
            }
        }
    }

    public static Behavior<Command> create(TrainingRun.Factory runs) {
        return Behaviors.setup(ctx -> new DevicePool(ctx, runs));
    }

    private static final class Lane {
        final DeviceSlot slot;
        ActorRef<Trainer.Command> ref;
        int replaced;

        Lane(DeviceSlot slot) {
            this.slot = slot;
        }
    }

    private record Holding(String trialId, Lane lane) {}

    private final TrainingRun.Factory runs;
    private final Map<String, List<Lane>> lanes = new LinkedHashMap<>();
    private final Map<ActorRef<?>, Holding> held = new LinkedHashMap<>();
    private final Deque<Lease> waiting = new ArrayDeque<>();

    private DevicePool(ActorContext<Command> ctx, TrainingRun.Factory runs) {
        super(ctx);
        this.runs = runs;
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Lease.class, this::onLease)
                .onMessage(Release.class, m -> {
                    release(m.holder());
                    return this;
                })
                .onMessage(HolderStopped.class, m -> {
                    release(m.holder());
                    return this;
                })
                .onMessage(LaneStopped.class, this::onLaneStopped)
                .onMessage(LaneGone.class, m -> {
                    lanes.values().stream().flatMap(List::stream).filter(l -> l.ref.equals(m.lane())).findFirst()
                            .ifPresent(l -> onLaneStopped(new LaneStopped(l.slot.device(), l.slot.lane(), l.ref)));
                    return this;
                })
                .onMessage(GetStatus.class, m -> {
                    m.replyTo().tell(status());
                    return this;
                })
                .onSignal(PreRestart.class, s -> {
                    // lanes (children) stop with the restart; their trials see it by watch. Waiting leases must
                    // hear something, or their sessions would wait forever
                    waiting.forEach(l -> l.replyTo().tell(new LeaseLost("the device pool restarted after a failure")));
                    return this;
                })
                .build();
    }

    private Behavior<Command> onLease(Lease m) {
        for (DeviceLayout d : m.devices()) {
            lanes.computeIfAbsent(d.device(), k -> startLanes(d));
        }
        if (held.containsKey(m.holder()) || waiting.stream().anyMatch(l -> l.holder().equals(m.holder()))) {
            throw new IllegalStateException("holder " + m.holder() + " asked for a second lane");
        }
        getContext().watchWith(m.holder(), new HolderStopped(m.holder()));
        waiting.add(m);
        grant();
        return this;
    }

    private List<Lane> startLanes(DeviceLayout d) {
        List<Lane> out = new ArrayList<>();
        for (int i = 0; i < d.lanes(); i++) {
            Lane lane = new Lane(new DeviceSlot(d.device(), i, d.threadsPerLane()));
            spawn(lane);
            out.add(lane);
        }
        getContext().getLog().debug("started {} lane(s) on {} with {} thread(s) each", d.lanes(), d.device(),
                d.threadsPerLane());
        return out;
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
            }
        }
        return this;
    }

    private void release(ActorRef<?> holder) {
        waiting.removeIf(l -> l.holder().equals(holder));
        held.remove(holder);
        getContext().unwatch(holder);
        grant();
    }

    private void grant() {
        for (Iterator<Lease> it = waiting.iterator(); it.hasNext(); ) {
            Lease l = it.next();
            Lane best = null;
            int bestLoad = Integer.MAX_VALUE;
            for (DeviceLayout d : l.devices()) {
                for (Lane lane : lanes.get(d.device())) {
                    int load = load(lane);
                    if (load < d.trialsPerLane() && load < bestLoad) {
                        best = lane;
                        bestLoad = load;
                    }
                }
            }
            if (best != null) {
                it.remove();
                held.put(l.holder(), new Holding(l.trialId(), best));
                l.replyTo().tell(new Leased(best.slot, best.ref));
            }
        }
    }

    private int load(Lane lane) {
        int n = 0;
        for (Holding h : held.values()) {
            if (h.lane() == lane) {
                n++;
            }
        }
        return n;
    }

    private Status status() {
        List<LaneStatus> out = new ArrayList<>();
        for (List<Lane> ls : lanes.values()) {
            for (Lane lane : ls) {
                List<String> trials = held.values().stream().filter(h -> h.lane() == lane).map(Holding::trialId)
                        .toList();
                out.add(new LaneStatus(lane.slot, lane.ref, trials, lane.replaced));
            }
        }
        return new Status(out, waiting.size());
    }
}
