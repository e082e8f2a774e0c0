package dev.lora4j.pipeline;

import dev.lora4j.actors.TrialEvent;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.javadsl.BroadcastHub;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.typed.javadsl.ActorSource;

/**
 * The sweep's event stream: trainers and the pipeline send {@link TrialEvent}s to one actor ref; any number of
 * subscribers attach, late or early, through {@link #subscribe()}. A subscriber never slows training: each gets a
 * private buffer that keeps every lifecycle event but only the newest {@code progressBacklog} progress events when it
 * falls behind.
 */
public final class EventHub {
    /** Told to the hub's source to complete every subscriber's stream; not an event, so no subscriber sees it. */
    private static final Object COMPLETE = new Object();

    private final ActorRef<Object> source;
    private final ActorRef<TrialEvent> input;
    private final Source<TrialEvent, NotUsed> hub;
    private final int progressBacklog;

    private EventHub(ActorRef<Object> source, Source<TrialEvent, NotUsed> hub, int progressBacklog) {
        this.source = source;
        this.input = source.narrow();
        this.hub = hub;
        this.progressBacklog = progressBacklog;
    }

    public static EventHub start(ActorSystem<?> system, int progressBacklog) {
        Pair<ActorRef<Object>, Source<TrialEvent, NotUsed>> p = ActorSource.<Object>actorRef(
                        m -> m == COMPLETE, m -> Optional.empty(), 100_000, OverflowStrategy.dropHead())
                .map(TrialEvent.class::cast)
                .toMat(BroadcastHub.of(TrialEvent.class, 256), Keep.both())
                .run(system);
        EventHub h = new EventHub(p.first(), p.second(), progressBacklog);
        // an always-draining subscriber: without one the hub would hold events back until someone subscribes
        h.subscribe().runWith(Sink.ignore(), system);
        return h;
    }

    /** Where events are sent. */
    public ActorRef<TrialEvent> input() {
        return input;
    }

    /** A new subscription, from now on (events before it are not replayed). */
    public Source<TrialEvent, NotUsed> subscribe() {
        return hub.batchWeighted(Long.MAX_VALUE, e -> e.droppable() ? 0L : 1L, this::firstBatch, Backlog::add)
                .mapConcat(Backlog::drain);
    }

    private Backlog firstBatch(TrialEvent e) {
        return new Backlog(progressBacklog).add(e);
    }

    /** Ends every subscription after the events already sent. */
    public void complete() {
        source.tell(COMPLETE);
    }

    /** A subscriber's pending events: lifecycle events all kept, progress events capped (oldest dropped). */
    static final class Backlog {
        private final Deque<TrialEvent> events = new ArrayDeque<>();
        private final int progressCap;
        private int progress;

        Backlog(int progressCap) {
            this.progressCap = progressCap;
        }

        Backlog add(TrialEvent e) {
            events.add(e);
            if (e.droppable() && ++progress > progressCap) {
                events.removeIf(x -> {
                    if (progress > progressCap && x.droppable()) {
                        progress--;
                        return true;
                    }
                    return false;
                });
            }
            return this;
        }

        List<TrialEvent> drain() {
            return new ArrayList<>(events);
        }
    }
}
