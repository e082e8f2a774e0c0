package dev.lora4j.actors;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;

/**
 * Every device lane a lora4j instance can train on, and who trains on each: the lanes of its own node's
 * {@link LaneHost} (started when a lease first names their device) and, in a cluster, the lanes of every worker's
 * host, found through the receptionist as workers join and dropped as they leave. Every sweep of the instance leases
 * here, so two sweeps never oversubscribe a lane. A lease is granted on the least busy lane with room for one more
 * trial ({@code trials_per_device}), preferring, among equally busy lanes, one whose device already holds the trial's
 * base model (trials on one device share one copy of it); otherwise it waits, first come first served, and that wait
 * is the pipeline's backpressure. Holders are watched: a holder that stops without releasing frees its lane. A lane
 * that dies is replaced by its host; the trials it held see it die through their own watch.
 */
public final class DevicePool extends AbstractBehavior<DevicePool.Command> {

    public sealed interface Command {}

    /**
     * Asks for a lane; the answer comes when one has room.
     *
     * @param base what identifies the trial's base model (lanes whose device holds it are preferred)
     * @param devices this node's devices the trial may use (empty: none of this node's lanes)
     * @param remoteTrialsPerLane trials per lane on other nodes' lanes (0: none of them)
     */
    public record Lease(ActorRef<?> holder, String trialId, String base, List<DeviceLayout> devices,
            int remoteTrialsPerLane, ActorRef<LeaseReply> replyTo) implements Command, LocalOnly {
        /** A lease on this node's lanes only. */
        public Lease(ActorRef<?> holder, String trialId, List<DeviceLayout> devices, ActorRef<LeaseReply> replyTo) {
            this(holder, trialId, "", devices, 0, replyTo);
        }
    }

    /** Gives a lane back, or withdraws a lease still waiting (either is fine to send more than once). */
    public record Release(ActorRef<?> holder) implements Command, LocalOnly {}

    /**
     * A holder saw {@code lane} stop: it is never granted again (its host offers the lane that replaces it), even
     * before the pool hears of the death itself.
     */
    public record LaneGone(ActorRef<Trainer.Command> lane) implements Command, LocalOnly {}

    public record GetStatus(ActorRef<Status> replyTo) implements Command, LocalOnly {}

    /** A host's lanes as they are now (sent on {@link LaneHost.Subscribe} and after every change). */
    public record HostLanes(ActorRef<LaneHost.Command> host, String node, List<LaneOffer> lanes)
            implements Command, CrossNode {
        public HostLanes {
            lanes = List.copyOf(lanes);
        }
    }

    /** A host restarted after a failure: its lanes and subscriptions are gone; it must be subscribed to again. */
    public record HostRestarted(ActorRef<LaneHost.Command> host) implements Command, CrossNode {}

    /** One lane of a host, and how many times it was replaced. */
    public record LaneOffer(DeviceSlot slot, ActorRef<Trainer.Command> ref, int replaced) {}

    private record Hosts(Receptionist.Listing listing) implements Command, LocalOnly {}

    private record HostStopped(ActorRef<LaneHost.Command> host) implements Command, LocalOnly {}

    private record HolderStopped(ActorRef<?> holder) implements Command, LocalOnly {}

    public sealed interface LeaseReply extends LocalOnly {}

    /** A lane, its host (which starts the trial's attempt on it) and the host's node. */
    public record Leased(DeviceSlot slot, ActorRef<Trainer.Command> lane, ActorRef<LaneHost.Command> host,
            String node) implements LeaseReply {}

    /** The pool restarted after a failure and forgot the lease; ask again. */
    public record LeaseLost(String reason) implements LeaseReply {}

    /** A lane, its node, what trains on it (trial ids), and how many times it was replaced. */
    public record LaneStatus(DeviceSlot slot, ActorRef<Trainer.Command> ref, String node, List<String> trials,
            int replaced) {}

    public record Status(List<LaneStatus> lanes, int waiting) implements LocalOnly {}

    /** A device and how to use it: lanes side by side, trials per lane, intra-op threads per lane. */
    public record DeviceLayout(String device, int lanes, int trialsPerLane, int threadsPerLane) {
        public DeviceLayout {
            if (lanes < 1 || trialsPerLane < 1 || threadsPerLane < 1) {
                throw new IllegalArgumentException("a device layout needs at least one lane, trial and thread: "
                        + device + " " + lanes + "x" + trialsPerLane + "x" + threadsPerLane);
            }
        }
    }

    /** @param localHost this node's lanes, or null for a pool that only uses other nodes' */
    public static Behavior<Command> create(ActorRef<LaneHost.Command> localHost) {
        return Behaviors.setup(ctx -> new DevicePool(ctx, localHost));
    }

    private static final class Host {
        final String node;
        final boolean local;
        List<LaneOffer> lanes = List.of();
        boolean reachable = true;

        Host(String node, boolean local) {
            this.node = node;
            this.local = local;
        }
    }

    private record Holding(String trialId, ActorRef<Trainer.Command> lane) {}

    private final ActorRef<LaneHost.Command> localHost;
    private final Map<ActorRef<LaneHost.Command>, Host> hosts = new LinkedHashMap<>();
    private final Map<String, DeviceLayout> ensured = new LinkedHashMap<>();
    private final Set<ActorRef<Trainer.Command>> gone = new HashSet<>();
    private final Map<ActorRef<?>, Holding> held = new LinkedHashMap<>();
    /** Bases granted on each host's device: where a trial's base is probably loaded already. */
    private final Map<ActorRef<LaneHost.Command>, Map<String, Set<String>>> warm = new HashMap<>();
    private final Deque<Lease> waiting = new ArrayDeque<>();

    private DevicePool(ActorContext<Command> ctx, ActorRef<LaneHost.Command> localHost) {
        super(ctx);
        this.localHost = localHost;
        if (localHost != null) {
            subscribe(localHost);
        }
        ctx.getSystem().receptionist().tell(Receptionist.subscribe(LaneHost.KEY,
                ctx.messageAdapter(Receptionist.Listing.class, Hosts::new)));
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
                .onMessage(LaneGone.class, m -> {
                    gone.add(m.lane());
                    return this;
                })
                .onMessage(HostLanes.class, this::onHostLanes)
                .onMessage(Hosts.class, this::onHosts)
                .onMessage(HostRestarted.class, m -> {
                    Host h = hosts.get(m.host());
                    if (h != null) {
                        h.lanes = List.of();
                        m.host().tell(new LaneHost.Subscribe(getContext().getSelf()));
                        if (m.host().equals(localHost) && !ensured.isEmpty()) {
                            m.host().tell(new LaneHost.Ensure(List.copyOf(ensured.values())));
                        }
                    }
                    return this;
                })
                .onMessage(HostStopped.class, m -> {
                    Host h = hosts.remove(m.host());
                    if (h != null) {
                        getContext().getLog().info("node {} left: its {} lane(s) are gone", h.node, h.lanes.size());
                    }
                    warm.remove(m.host());
                    return this;
                })
                .onMessage(GetStatus.class, m -> {
                    m.replyTo().tell(status());
                    return this;
                })
                .onSignal(PreRestart.class, s -> {
                    // waiting leases must hear something, or their sessions would wait forever
                    waiting.forEach(l -> l.replyTo().tell(new LeaseLost("the device pool restarted after a failure")));
                    return this;
                })
                .build();
    }

    private void subscribe(ActorRef<LaneHost.Command> host) {
        if (!hosts.containsKey(host)) {
            hosts.put(host, new Host("", host.equals(localHost)));
            getContext().watchWith(host, new HostStopped(host));
            host.tell(new LaneHost.Subscribe(getContext().getSelf()));
        }
    }

    private Behavior<Command> onHosts(Hosts m) {
        Set<ActorRef<LaneHost.Command>> reachable = m.listing().getServiceInstances(LaneHost.KEY);
        for (ActorRef<LaneHost.Command> h : reachable) {
            subscribe(h);
        }
        for (Map.Entry<ActorRef<LaneHost.Command>, Host> e : hosts.entrySet()) {
            // an unreachable worker gets no new trials; if it is downed, its watch removes it
            e.getValue().reachable = e.getValue().local || reachable.contains(e.getKey());
        }
        grant();
        return this;
    }

    private Behavior<Command> onHostLanes(HostLanes m) {
        Host h = hosts.get(m.host());
        if (h == null) {
            return this;
        }
        Host updated = new Host(m.node(), h.local);
        updated.reachable = h.reachable;
        updated.lanes = m.lanes();
        if (h.lanes.isEmpty() && !h.local) {
            getContext().getLog().info("node {} offers {} lane(s)", m.node(), m.lanes().size());
        }
        hosts.put(m.host(), updated);
        // lanes gone and no longer offered need not be remembered
        Set<ActorRef<Trainer.Command>> offered = new HashSet<>();
        hosts.values().forEach(x -> x.lanes.forEach(lane -> offered.add(lane.ref())));
        gone.retainAll(offered);
        grant();
        return this;
    }

    private Behavior<Command> onLease(Lease m) {
        if (held.containsKey(m.holder()) || waiting.stream().anyMatch(l -> l.holder().equals(m.holder()))) {
            throw new IllegalStateException("holder " + m.holder() + " asked for a second lane");
        }
        if (localHost != null) {
            List<DeviceLayout> fresh = m.devices().stream().filter(d -> !ensured.containsKey(d.device())).toList();
            if (!fresh.isEmpty()) {
                fresh.forEach(d -> ensured.put(d.device(), d));
                localHost.tell(new LaneHost.Ensure(fresh));
            }
        }
        getContext().watchWith(m.holder(), new HolderStopped(m.holder()));
        waiting.add(m);
        grant();
        return this;
    }

    private void release(ActorRef<?> holder) {
        waiting.removeIf(l -> l.holder().equals(holder));
        held.remove(holder);
        getContext().unwatch(holder);
        grant();
    }

    /** How many leases a lane holds now. */
    private int loadOf(ActorRef<Trainer.Command> lane) {
        return (int) held.values().stream().filter(h -> h.lane().equals(lane)).count();
    }

    private void grant() {
        for (Iterator<Lease> it = waiting.iterator(); it.hasNext(); ) {
            Lease l = it.next();
            ActorRef<LaneHost.Command> bestHost = null;
            LaneOffer best = null;
            int bestScore = Integer.MAX_VALUE;
            for (Map.Entry<ActorRef<LaneHost.Command>, Host> e : hosts.entrySet()) {
                Host h = e.getValue();
                if (!h.reachable) {
                    continue;
                }
                for (LaneOffer lane : h.lanes) {
                    int room = capacity(l, h, lane.slot().device());
                    int n = loadOf(lane.ref());
                    if (n >= room || gone.contains(lane.ref())) {
                        continue;
                    }
                    boolean isWarm = warm.getOrDefault(e.getKey(), Map.of())
                            .getOrDefault(lane.slot().device(), Set.of()).contains(l.base());
                    int score = 2 * n + (isWarm ? 0 : 1);
                    if (score < bestScore) {
                        best = lane;
                        bestHost = e.getKey();
                        bestScore = score;
                    }
                }
            }
            if (best != null) {
                it.remove();
                held.put(l.holder(), new Holding(l.trialId(), best.ref()));
                warm.computeIfAbsent(bestHost, k -> new HashMap<>())
                        .computeIfAbsent(best.slot().device(), k -> new HashSet<>()).add(l.base());
                l.replyTo().tell(new Leased(best.slot(), best.ref(), bestHost, hosts.get(bestHost).node));
            }
        }
    }

    /** How many trials of this lease a lane may hold: this node's per the lease's layouts, others' per the sweep. */
    private static int capacity(Lease l, Host h, String device) {
        if (!h.local) {
            return l.remoteTrialsPerLane();
        }
        for (DeviceLayout d : l.devices()) {
            if (d.device().equals(device)) {
                return d.trialsPerLane();
            }
        }
        return 0;
    }

    private Status status() {
        List<LaneStatus> out = new ArrayList<>();
        for (Host h : hosts.values()) {
            for (LaneOffer lane : h.lanes) {
                List<String> trials = held.values().stream().filter(x -> x.lane().equals(lane.ref()))
                        .map(Holding::trialId).toList();
                out.add(new LaneStatus(lane.slot(), lane.ref(), h.node, trials, lane.replaced()));
            }
        }
        return new Status(out, waiting.size());
    }
}
