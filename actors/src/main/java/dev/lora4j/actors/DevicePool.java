package dev.lora4j.actors;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * Hands out device slots: {@code lanes x trials_per_device} of them per device. A lease asked for while every slot
 * is taken waits (first come, first served) until a trial releases one; that wait is the pipeline's backpressure.
 */
public final class DevicePool extends AbstractBehavior<DevicePool.Command> {

    public sealed interface Command {}

    /** Asks for a slot; the answer comes when one is free. */
    public record Lease(String trialId, ActorRef<Leased> replyTo) implements Command {}

    /** Gives a slot back. */
    public record Release(DeviceSlot slot) implements Command {}

    public record GetStatus(ActorRef<Status> replyTo) implements Command {}

    public record Leased(String trialId, DeviceSlot slot) {}

    /** Free and total slots, leases waiting, and who holds what. */
    public record Status(int free, int total, int waiting, Map<String, DeviceSlot> held) {}

    /** A device and how to use it: lanes side by side, trials per lane, intra-op threads per lane. */
    public record DeviceLayout(String device, int lanes, int trialsPerLane, int threadsPerLane) {}

    public static Behavior<Command> create(List<DeviceLayout> layout) {
        if (layout.isEmpty()) {
            throw new IllegalArgumentException("a device pool needs at least one device");
        }
        return Behaviors.setup(ctx -> new DevicePool(ctx, layout));
    }

    private final Deque<DeviceSlot> free = new ArrayDeque<>();
    private final Deque<Lease> waiting = new ArrayDeque<>();
    private final Map<String, DeviceSlot> held = new HashMap<>();
    private final int total;

    private DevicePool(ActorContext<Command> ctx, List<DeviceLayout> layout) {
        super(ctx);
        // interleave lanes so consecutive leases spread over lanes (and devices) before doubling up on one
        List<DeviceSlot> slots = new ArrayList<>();
        int maxTrials = layout.stream().mapToInt(DeviceLayout::trialsPerLane).max().orElse(1);
        for (int k = 0; k < maxTrials; k++) {
            for (DeviceLayout d : layout) {
                for (int lane = 0; lane < d.lanes(); lane++) {
                    if (k < d.trialsPerLane()) {
                        slots.add(new DeviceSlot(d.device(), lane, k, d.threadsPerLane()));
                    }
                }
            }
        }
        free.addAll(slots);
        total = slots.size();
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Lease.class, this::onLease)
                .onMessage(Release.class, this::onRelease)
                .onMessage(GetStatus.class, m -> {
                    m.replyTo().tell(new Status(free.size(), total, waiting.size(), Map.copyOf(held)));
                    return this;
                })
                .build();
    }

    private Behavior<Command> onLease(Lease l) {
        if (free.isEmpty()) {
            waiting.add(l);
        } else {
            grant(l, free.poll());
        }
        return this;
    }

    private Behavior<Command> onRelease(Release r) {
        if (!held.values().remove(r.slot())) {
            getContext().getLog().warn("release of {} which is not leased", r.slot());
            return this;
        }
        Lease next = waiting.poll();
        if (next != null) {
            grant(next, r.slot());
        } else {
            free.addFirst(r.slot());
        }
        return this;
    }

    private void grant(Lease l, DeviceSlot slot) {
        held.put(l.trialId(), slot);
        l.replyTo().tell(new Leased(l.trialId(), slot));
    }
}
