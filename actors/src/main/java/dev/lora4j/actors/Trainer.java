package dev.lora4j.actors;

import dev.lora4j.api.trial.Failure;
import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.checkpoint.Checkpoint;
import dev.lora4j.lora.AdapterSnapshot;
import dev.lora4j.runtime.Torch;
import dev.lora4j.train.StepReport;
import dev.lora4j.train.TrainListener;
import dev.lora4j.train.TrialData;
import dev.lora4j.train.TrialRun;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * One device lane: trains the trials given to it on one thread. It must run on a pinned dispatcher: each step is
 * blocking tensor work on the lane's thread, with the lane's intra-op thread count. Trials take turns, one optimizer
 * step each, so none starves; between steps the lane reads its mailbox, so cancels and checkpoint acknowledgements
 * are handled at step boundaries.
 *
 * <p>The lane computes; the trial's owner (its session) keeps the books: every step, evaluation and checkpoint is
 * reported to the owner, which writes the trial's files and acknowledges each checkpoint with {@link Saved} before
 * the trial steps again (a slow disk slows that trial instead of piling up snapshots). A failure inside a trial's
 * work ends that trial with {@link Crashed}; the lane goes on. The lane watches each owner and drops the trials of
 * one that stops. If the lane itself dies, its trials' owners see it through their watch, and it frees what it held
 * on the way out.
 */
public final class Trainer extends AbstractBehavior<Trainer.Command> {

    /** A lane is only ever told things by actors of its own node: its protocol carries live objects. */
    public sealed interface Command extends LocalOnly {}

    /**
     * Trains {@code model} on {@code data} for {@code owner}, reporting to {@code replyTo}. The lane takes its own
     * hold on the model and releases it when the trial leaves the lane.
     *
     * @param resumeFrom a checkpoint to continue from, or null
     * @param extraEvaluations steps at which to evaluate besides the configured cadence (the sweep's ASHA rungs)
     * @param verdicts whether each evaluation waits for the owner's {@link Verdict} (the sweep stops trials early)
     */
    public record Train(TrialModel model, TrialData data, TrialRun.Settings settings, Checkpoint resumeFrom,
            Set<Long> extraEvaluations, boolean verdicts, ActorRef<Report> replyTo, ActorRef<?> owner)
            implements Command {
        public Train {
            extraEvaluations = Set.copyOf(extraEvaluations);
        }
    }

    /**
     * The sweep's early termination decided on the evaluation at {@code step}: {@code stopReason} ends the trial as
     * stopped, null lets it go on. The trial waits for this before it steps again (the decision is the sweep's, taken
     * wherever the sweep runs).
     */
    public record Verdict(ActorRef<?> owner, long step, String stopReason) implements Command {}

    /** Stops {@code owner}'s trial at the next step boundary, after a checkpoint of what it did since the last. */
    public record Cancel(ActorRef<?> owner) implements Command {}

    /**
     * Ends {@code owner}'s trial for good before its next step, as an early termination ends it: stopped with
     * {@code reason}, its final evaluation, metrics and best adapter. Ignored once the trial left the lane or is
     * already ending.
     */
    public record StopEarly(ActorRef<?> owner, String reason) implements Command {}

    /**
     * Drops {@code owner}'s trial at once, without a checkpoint (the owner can no longer record it: its disk failed);
     * the lane answers with {@link Crashed} carrying {@code failure}, and the trial resumes from its last checkpoint.
     */
    public record Abandon(ActorRef<?> owner, Failure failure) implements Command {}

    /** The owner wrote the checkpoint the lane asked for ({@code failure} null) or could not. */
    public record Saved(ActorRef<?> owner, long step, Failure failure) implements Command {}

    private enum Tick implements Command { INSTANCE }

    private record OwnerGone(ActorRef<?> owner) implements Command {}

    /** What the lane tells a trial's owner. */
    public sealed interface Report extends LocalOnly {}

    public record Started(long totalSteps, long resumedAtStep) implements Report {}

    public record Stepped(StepReport report) implements Report {}

    public record Evaluated(long step, Map<String, Double> metrics, boolean best) implements Report {}

    /** Write this checkpoint, keeping {@code protectStep} (the best) when pruning, and answer with {@link Saved}. */
    public record SaveCheckpoint(Checkpoint checkpoint, long protectStep) implements Report {}

    /**
     * The trial left the lane: finished, stopped early or cancelled. {@code adapter} is its best adapter (null when
     * cancelled: the last checkpoint holds the state).
     */
    public record Completed(TrialResult.Status status, Map<String, Double> metrics, long steps,
            double seconds, AdapterSnapshot adapter, String reason) implements Report {}

    /** The trial's work failed at {@code step}; the lane dropped it. */
    public record Crashed(Failure failure, long step) implements Report {}

    public static Behavior<Command> create(int threads, TrainingRun.Factory runs) {
        return Behaviors.setup(ctx -> {
            // runs on this lane's own (pinned) thread: libtorch's intra-op thread count is per calling thread
            Torch.setThreads(threads);
            return new Trainer(ctx, runs);
        });
    }

    private final class Active {
        final Train request;
        TrainingRun run;
        boolean awaitingSave;
        /** The step of an evaluation waiting for its verdict, or -1. */
        long awaitingVerdict = -1;
        boolean finishing;
        boolean cancelled;
        String stopReason;
        long lastSavedStep;

        Active(Train request) {
            this.request = request;
        }

        boolean runnable() {
            return !awaitingSave && !finishing && awaitingVerdict < 0;
        }

        void tell(Report r) {
            request.replyTo().tell(r);
        }
    }

    private final TrainingRun.Factory runs;
    private final Map<ActorRef<?>, Active> active = new LinkedHashMap<>();
    private final List<ActorRef<?>> turn = new ArrayList<>();
    private int next;
    private boolean tickPending;

    private Trainer(ActorContext<Command> ctx, TrainingRun.Factory runs) {
        super(ctx);
        this.runs = runs;
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Train.class, this::onTrain)
                .onMessageEquals(Tick.INSTANCE, this::onTick)
                .onMessage(Saved.class, this::onSaved)
                .onMessage(Verdict.class, this::onVerdict)
                .onMessage(Cancel.class, m -> {
                    Active a = active.get(m.owner());
                    if (a != null) {
                        a.cancelled = true;
                        tick();
                    }
                    return this;
                })
                .onMessage(StopEarly.class, m -> {
                    Active a = active.get(m.owner());
                    if (a != null && a.stopReason == null && !a.finishing) {
                        a.stopReason = m.reason();
                        tick();
                    }
                    return this;
                })
                .onMessage(Abandon.class, m -> {
                    Active a = active.get(m.owner());
                    if (a != null) {
                        Crashed crashed = new Crashed(m.failure(), a.run == null ? 0 : a.run.completedSteps());
                        remove(a);
                        a.tell(crashed);
                    }
                    return this;
                })
                .onMessage(OwnerGone.class, m -> {
                    Active a = active.get(m.owner());
                    if (a != null) {
                        getContext().getLog().info("trial {}: its owner stopped; dropping it",
                                a.request.model().spec().id());
                        remove(a);
                    }
                    return this;
                })
                .onSignal(PostStop.class, s -> {
                    // the lane is going away (a failure or shutdown): free what it holds; owners see it by watch
                    for (Active a : List.copyOf(active.values())) {
                        remove(a);
                    }
                    return this;
                })
                .build();
    }

    private Behavior<Command> onTrain(Train m) {
        if (active.containsKey(m.owner())) {
            throw new IllegalStateException("owner " + m.owner() + " already trains on this lane");
        }
        Active a = new Active(m);
        m.model().retain();
        active.put(m.owner(), a);
        getContext().watchWith(m.owner(), new OwnerGone(m.owner()));
        try {
            Set<Long> extra = m.extraEvaluations();
            a.run = runs.open(m.model(), m.data(), m.settings(), m.resumeFrom(), new TrainListener() {
                @Override
                public void onEvaluated(long step, Map<String, Double> metrics, boolean best) {
                    a.tell(new Evaluated(step, metrics, best));
                    if (m.verdicts() && !a.finishing) {
                        a.awaitingVerdict = step;
                    }
                }
            }, extra::contains);
        } catch (RuntimeException | OutOfMemoryError e) {
            crash(a, e);
            return this;
        }
        long resumedAt = m.resumeFrom() == null ? 0 : m.resumeFrom().state().step();
        a.lastSavedStep = resumedAt;
        turn.add(m.owner());
        a.tell(new Started(a.run.totalSteps(), resumedAt));
        tick();
        return this;
    }

    private void tick() {
        if (!tickPending && active.values().stream().anyMatch(Active::runnable)) {
            tickPending = true;
            getContext().getSelf().tell(Tick.INSTANCE);
        }
    }

    private Behavior<Command> onTick() {
        tickPending = false;
        Active a = nextRunnable();
        if (a != null) {
            if (a.cancelled) {
                cancel(a);
            } else if (a.stopReason != null) {
                // stopped between steps (a verdict's stop ends the trial in afterStep at once)
                afterStep(a);
            } else {
                step(a);
            }
        }
        tick();
        return this;
    }

    private Active nextRunnable() {
        for (int i = 0; i < turn.size(); i++) {
            Active a = active.get(turn.get((next + i) % turn.size()));
            if (a.runnable()) {
                next = (next + i + 1) % turn.size();
                return a;
            }
        }
        return null;
    }

    private void step(Active a) {
        try {
            StepReport r = a.run.step();
            a.tell(new Stepped(r));
            if (a.awaitingVerdict < 0) {
                afterStep(a);
            }
        } catch (RuntimeException | OutOfMemoryError e) {
            crash(a, e);
        }
    }

    /** What follows a step once any verdict on its evaluation is in: the end, a checkpoint, or the next step. */
    private void afterStep(Active a) {
        try {
            if (a.run.finished() || a.stopReason != null) {
                finish(a, a.stopReason != null && !a.run.finished() ? TrialResult.Status.STOPPED
                        : TrialResult.Status.FINISHED);
            } else if (a.run.checkpointDue()) {
                save(a);
            }
        } catch (RuntimeException | OutOfMemoryError e) {
            crash(a, e);
        }
    }

    private Behavior<Command> onVerdict(Verdict m) {
        Active a = active.get(m.owner());
        if (a == null || a.awaitingVerdict != m.step()) {
            return this;
        }
        a.awaitingVerdict = -1;
        if (m.stopReason() != null && a.stopReason == null) {
            a.stopReason = m.stopReason();
        }
        afterStep(a);
        tick();
        return this;
    }

    private void save(Active a) {
        a.awaitingSave = true;
        a.tell(new SaveCheckpoint(a.run.checkpoint(), a.run.bestStep()));
    }

    private void cancel(Active a) {
        try {
            if (a.run.completedSteps() > a.lastSavedStep) {
                a.finishing = true;
                save(a);
            } else {
                complete(a, TrialResult.Status.CANCELLED, Map.of(), null);
            }
        } catch (RuntimeException | OutOfMemoryError e) {
            crash(a, e);
        }
    }

    private void finish(Active a, TrialResult.Status status) {
        // the final evaluation's verdict changes nothing: the trial ends here either way
        a.finishing = true;
        Map<String, Double> metrics = a.run.finish();
        complete(a, status, metrics, a.run.snapshot());
    }

    private Behavior<Command> onSaved(Saved m) {
        Active a = active.get(m.owner());
        if (a == null || !a.awaitingSave) {
            return this;
        }
        a.awaitingSave = false;
        if (m.failure() != null) {
            Crashed crashed = new Crashed(m.failure(), a.run.completedSteps());
            remove(a);
            a.tell(crashed);
        } else {
            a.lastSavedStep = m.step();
            if (a.finishing) {
                complete(a, TrialResult.Status.CANCELLED, Map.of(), null);
            }
        }
        tick();
        return this;
    }

    /** The trial leaves the lane before its owner hears of it: what the owner is told, the lane let go of. */
    private void complete(Active a, TrialResult.Status status, Map<String, Double> metrics, AdapterSnapshot adapter) {
        String reason = status == TrialResult.Status.STOPPED ? a.stopReason
                : status == TrialResult.Status.CANCELLED ? "cancelled at step " + a.run.completedSteps() : null;
        Completed done = new Completed(status, metrics, a.run.completedSteps(),
                metrics.getOrDefault("train_runtime_s", 0.0), adapter, reason);
        remove(a);
        a.tell(done);
    }

    private void crash(Active a, Throwable e) {
        Crashed crashed = new Crashed(Failure.of(e), a.run == null ? 0 : a.run.completedSteps());
        remove(a);
        a.tell(crashed);
    }

    /** The trial leaves the lane: its run is closed and the lane's hold on its model released, exactly once. */
    private void remove(Active a) {
        ActorRef<?> owner = a.request.owner();
        if (active.remove(owner) == null) {
            return;
        }
        getContext().unwatch(owner);
        int i = turn.indexOf(owner);
        turn.remove(owner);
        if (i >= 0 && i < next) {
            next--;
        }
        if (next >= turn.size()) {
            next = 0;
        }
        try {
            if (a.run != null) {
                a.run.close();
            } else if (a.request.data().train() != null) {
                a.request.data().train().close();
            }
        } catch (RuntimeException e) {
            getContext().getLog().warn("trial {}: closing its run failed: {}", a.request.model().spec().id(),
                    e.toString());
        } finally {
            a.request.model().release();
        }
    }
}
