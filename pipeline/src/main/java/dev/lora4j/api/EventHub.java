package dev.lora4j.api;

import dev.lora4j.api.trial.TrialEvent;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.typed.javadsl.ActorSource;

/**
 * A sweep's event stream: sessions and stages send {@link TrialEvent}s to one actor ref; any number of subscribers
 * attach, late or early, through {@link #subscribe()}. A subscriber first gets the current state of every trial (its
 * lifecycle events so far, compacted: the one {@code Ended} of an ended trial; {@code Queued} or {@code Started},
 * and the last {@code Evaluated}, of one in flight), then every event from there on, with no gap and no repeat: both
 * come from the one actor that keeps the state. A subscriber never slows training: each has a private buffer that
 * keeps every lifecycle event but only the newest {@code progressBacklog} progress events when it falls behind.
 */
final class EventHub {
    /** Told to the hub to complete every subscription once it has what was sent before. */
    /** The end of the events (an enum: a constant that any serializer, and Pekko's checks, can handle). */
    private enum End { COMPLETE }

    private static final Object COMPLETE = End.COMPLETE;

    private record Subscribe(ActorRef<Object> subscriber) {}

    private record Gone(ActorRef<Object> subscriber) {}

    private final ActorRef<Object> hub;
    private final int progressBacklog;

    private EventHub(ActorRef<Object> hub, int progressBacklog) {
        this.hub = hub;
        this.progressBacklog = progressBacklog;
    }

    public static EventHub start(ActorSystem<?> system, int progressBacklog) {
        return new EventHub(system.systemActorOf(fanout(), "events-" + java.util.UUID.randomUUID(), Props.empty()),
                progressBacklog);
    }

    /** Where events are sent. */
    public ActorRef<TrialEvent> input() {
        return hub.narrow();
    }

    /** A new subscription: the state of every trial when it attaches, then live events; completes with the sweep. */
    public Source<TrialEvent, NotUsed> subscribe() {
        return ActorSource.<Object>actorRef(m -> m == COMPLETE, m -> Optional.empty(), 100_000,
                        OverflowStrategy.dropHead())
                .mapMaterializedValue(ref -> {
                    hub.tell(new Subscribe(ref));
                    return NotUsed.getInstance();
                })
                .map(TrialEvent.class::cast)
                .batchWeighted(Long.MAX_VALUE, e -> e.droppable() ? 0L : 1L, this::firstBatch, Backlog::add)
                .mapConcat(Backlog::drain);
    }

    private Backlog firstBatch(TrialEvent e) {
        return new Backlog(progressBacklog).add(e);
    }

    /** Ends every subscription after the events already sent; later subscriptions get the final state and end. */
    public void complete() {
        hub.tell(COMPLETE);
    }

    /** Frees the hub (the lora4j instance closes). */
    void stop() {
        hub.tell(Stop.INSTANCE);
    }

    private enum Stop { INSTANCE }

    /** The state a late subscriber starts from, per trial in order of arrival. */
    private static final class TrialState {
        TrialEvent phase;
        TrialEvent lastEvaluation;

        void add(TrialEvent e) {
            if (e instanceof TrialEvent.Evaluated) {
                lastEvaluation = e;
            } else if (e instanceof TrialEvent.Queued || e instanceof TrialEvent.Started
                    || e instanceof TrialEvent.Ended) {
                phase = e;
                if (!(e instanceof TrialEvent.Started)) {
                    lastEvaluation = null;
                }
            }
        }

        void replay(ActorRef<Object> to) {
            if (phase != null) {
                to.tell(phase);
            }
            if (lastEvaluation != null) {
                to.tell(lastEvaluation);
            }
        }
    }

    private static Behavior<Object> fanout() {
        return Behaviors.setup(ctx -> {
            Map<String, TrialState> state = new LinkedHashMap<>();
            Set<ActorRef<Object>> subscribers = new LinkedHashSet<>();
            boolean[] completed = {false};
            return Behaviors.receive(Object.class)
                    .onMessage(TrialEvent.class, e -> {
                        if (!e.droppable()) {
                            state.computeIfAbsent(e.trialId(), k -> new TrialState()).add(e);
                        }
                        subscribers.forEach(s -> s.tell(e));
                        return Behaviors.same();
                    })
                    .onMessage(Subscribe.class, m -> {
                        state.values().forEach(t -> t.replay(m.subscriber()));
                        if (completed[0]) {
                            m.subscriber().tell(COMPLETE);
                        } else {
                            subscribers.add(m.subscriber());
                            ctx.watchWith(m.subscriber(), new Gone(m.subscriber()));
                        }
                        return Behaviors.same();
                    })
                    .onMessage(Gone.class, m -> {
                        subscribers.remove(m.subscriber());
                        return Behaviors.same();
                    })
                    .onMessageEquals(COMPLETE, () -> {
                        completed[0] = true;
                        subscribers.forEach(s -> s.tell(COMPLETE));
                        subscribers.clear();
                        return Behaviors.same();
                    })
                    .onMessageEquals(Stop.INSTANCE, Behaviors::stopped)
                    .build();
        });
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
                // one over the cap: the oldest progress event goes (lifecycle events, few, sit before it at most),
                // so a subscriber that stalls costs the hub a step or two per event, not a scan of its backlog
                for (java.util.Iterator<TrialEvent> it = events.iterator(); it.hasNext(); ) {
                    if (it.next().droppable()) {
                        it.remove();
                        progress--;
                        break;
                    }
                }
            }
            return this;
        }

        List<TrialEvent> drain() {
            return new ArrayList<>(events);
        }
    }
}
