package dev.lora4j.actors;

import dev.lora4j.checkpoint.Checkpoint;
import dev.lora4j.checkpoint.CheckpointStore;
import dev.lora4j.runtime.Torch;
import dev.lora4j.train.RunFolder;
import dev.lora4j.train.StepReport;
import dev.lora4j.train.TrainListener;
import dev.lora4j.train.TrialData;
import dev.lora4j.train.TrialRun;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * Trains every trial of one device lane on one thread. It must run on a pinned dispatcher: each step is blocking
 * tensor work on that lane's thread, with that lane's intra-op thread count. Trials take turns, one optimizer step
 * each, so none starves; between steps the actor reads its mailbox, so cancels and checkpoint acknowledgements are
 * handled at step boundaries. A trial whose checkpoint is still being written waits for it (backpressure).
 */
public final class Trainer extends AbstractBehavior<Trainer.Command> {

    public sealed interface Command {}

    /**
     * Trains {@code model} on {@code data}; resumes from {@code resumeFrom} when it is not null. {@code keepLast}
     * checkpoints are kept (0 = all) besides the best.
     */
    public record Train(TrialModel model, TrialData data, TrialRun.Settings settings, RunFolder folder,
            Path resumeFrom, int keepLast, ActorRef<TrialEvent> events, ActorRef<Outcome> replyTo) implements Command {}

    /** Stops a trial at the next step boundary after a final checkpoint (sweep cancellation). */
    public record Cancel(String trialId) implements Command {}

    public record CancelAll() implements Command {}

    /** Ends a trial early with its best adapter (the sweep's early termination decided so). */
    public record StopTrial(String trialId, String reason) implements Command {}

    public record GetStatus(ActorRef<Status> replyTo) implements Command {}

    public record Status(List<String> active) {}

    private enum Tick implements Command { INSTANCE }

    private record SaveDone(Checkpointer.Saved saved) implements Command {}

    /** How a trial left this trainer. */
    public sealed interface Outcome {
        TrialModel model();
    }

    /** Finished, stopped or cancelled, with its metrics and files. */
    public record Completed(TrialModel model, TrialResult.Status status, Map<String, Double> metrics, long steps,
            double seconds, Path adapter, Path lastCheckpoint, String reason) implements Outcome {}

    /** Failed with an exception; {@code outOfMemory} allows a retry with smaller micro-batches. */
    public record Crashed(TrialModel model, String reason, boolean outOfMemory, long step, Path lastCheckpoint)
            implements Outcome {}

    /** Decides at each evaluation whether a trial should stop (the sweep's ASHA); null means never. */
    @FunctionalInterface
    public interface StopRule {
        String shouldStop(String trialId, long step, Map<String, Double> metrics);

        /** Steps at which the rule wants an evaluation besides the configured cadence. */
        default boolean evaluateAt(long step) {
            return false;
        }
    }

    public static Behavior<Command> create(int threads, ActorRef<Checkpointer.Command> checkpointer,
            StopRule stopRule) {
        return Behaviors.setup(ctx -> {
            // runs on this trainer's own (pinned) thread: libtorch's intra-op thread count is per calling thread
            Torch.setThreads(threads);
            return new Trainer(ctx, checkpointer, stopRule);
        });
    }

    private final class Active {
        final Train request;
        final TrialRun run;
        boolean awaitingSave;
        boolean finishing;
        boolean cancelled;
        String stopReason;
        Path lastCheckpoint;
        long lastSavedStep;
        Map<String, Double> finalMetrics;
        TrialResult.Status finalStatus;

        Active(Train request, TrialRun run) {
            this.request = request;
            this.run = run;
        }

        String id() {
            return request.model().spec().id();
        }

        String name() {
            return request.model().spec().name();
        }

        boolean runnable() {
            return !awaitingSave && !finishing;
        }
    }

    private final ActorRef<Checkpointer.Command> checkpointer;
    private final StopRule stopRule;
    private final ActorRef<Checkpointer.Saved> saveAdapter;
    private final Map<String, Active> active = new LinkedHashMap<>();
    private final List<String> turn = new ArrayList<>();
    private int next;
    private boolean tickPending;

    private Trainer(ActorContext<Command> ctx, ActorRef<Checkpointer.Command> checkpointer, StopRule stopRule) {
        super(ctx);
        this.checkpointer = checkpointer;
        this.stopRule = stopRule;
        this.saveAdapter = ctx.messageAdapter(Checkpointer.Saved.class, SaveDone::new);
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Train.class, this::onTrain)
                .onMessageEquals(Tick.INSTANCE, this::onTick)
                .onMessage(SaveDone.class, this::onSaveDone)
                .onMessage(Cancel.class, m -> {
                    Active a = active.get(m.trialId());
                    if (a != null) {
                        a.cancelled = true;
                        tick();
                    }
                    return this;
                })
                .onMessage(CancelAll.class, m -> {
                    active.values().forEach(a -> a.cancelled = true);
                    tick();
                    return this;
                })
                .onMessage(StopTrial.class, m -> {
                    Active a = active.get(m.trialId());
                    if (a != null && a.stopReason == null) {
                        a.stopReason = m.reason();
                    }
                    return this;
                })
                .onMessage(GetStatus.class, m -> {
                    m.replyTo().tell(new Status(List.copyOf(active.keySet())));
                    return this;
                })
                .build();
    }

    private Behavior<Command> onTrain(Train m) {
        String id = m.model().spec().id();
        TrialRun run;
        Active a;
        try {
            run = new TrialRun(m.model().base(), m.model().adapter(), m.data().objective(), m.settings(),
                    m.data().train(), m.data().eval(), null);
            a = new Active(m, run);
            long resumedAt = 0;
            if (m.resumeFrom() != null) {
                Checkpoint c = CheckpointStore.load(m.resumeFrom());
                run.restore(c);
                m.folder().truncateProgressAfter(c.state().step());
                resumedAt = c.state().step();
                a.lastCheckpoint = m.resumeFrom();
                a.lastSavedStep = resumedAt;
            }
            run.listen(listener(a));
            if (stopRule != null) {
                run.alsoEvaluateAt(stopRule::evaluateAt);
            }
            active.put(id, a);
            turn.add(id);
            m.events().tell(new TrialEvent.Started(id, m.model().spec().name(), m.model().slot().device(),
                    run.totalSteps(), resumedAt));
        } catch (RuntimeException e) {
            m.replyTo().tell(new Crashed(m.model(), Failures.describe(e), Failures.isOutOfMemory(e), 0,
                    m.resumeFrom()));
            return this;
        }
        tick();
        return this;
    }

    private TrainListener listener(Active a) {
        return new TrainListener() {
            @Override
            public void onEvaluated(long step, Map<String, Double> metrics, boolean best) {
                a.request.folder().appendEval(step, metrics);
                a.request.events().tell(new TrialEvent.Evaluated(a.id(), a.name(), step, metrics, best));
                if (stopRule != null && a.stopReason == null) {
                    a.stopReason = stopRule.shouldStop(a.id(), step, metrics);
                }
            }
        };
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
        if (a == null) {
            return this;
        }
        if (a.cancelled) {
            cancel(a);
        } else {
            step(a);
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
        StepReport r;
        try {
            r = a.run.step();
        } catch (RuntimeException | OutOfMemoryError e) {
            remove(a);
            a.request.replyTo().tell(new Crashed(a.request.model(), Failures.describe(e), Failures.isOutOfMemory(e),
                    a.run.completedSteps(), a.lastCheckpoint));
            return;
        }
        a.request.folder().appendStep(r);
        a.request.events().tell(new TrialEvent.Progress(a.id(), a.name(), r));
        if (a.run.finished() || a.stopReason != null) {
            finish(a, a.stopReason != null && !a.run.finished() ? TrialResult.Status.STOPPED
                    : TrialResult.Status.FINISHED);
        } else if (a.run.checkpointDue()) {
            save(a);
        }
    }

    private void save(Active a) {
        a.awaitingSave = true;
        checkpointer.tell(new Checkpointer.Save(a.id(), a.run.checkpoint(), a.request.folder().checkpoints(),
                a.request.keepLast(), a.run.bestStep(), saveAdapter));
    }

    private void cancel(Active a) {
        if (a.run.completedSteps() > a.lastSavedStep) {
            a.finalStatus = TrialResult.Status.CANCELLED;
            a.finishing = true;
            a.awaitingSave = true;
            checkpointer.tell(new Checkpointer.Save(a.id(), a.run.checkpoint(), a.request.folder().checkpoints(),
                    a.request.keepLast(), a.run.bestStep(), saveAdapter));
        } else {
            complete(a, TrialResult.Status.CANCELLED, Map.of(), null);
        }
    }

    private void finish(Active a, TrialResult.Status status) {
        Map<String, Double> metrics;
        try {
            metrics = a.run.finish();
        } catch (RuntimeException e) {
            remove(a);
            a.request.replyTo().tell(new Crashed(a.request.model(), Failures.describe(e), Failures.isOutOfMemory(e),
                    a.run.completedSteps(), a.lastCheckpoint));
            return;
        }
        a.finishing = true;
        a.finalMetrics = metrics;
        a.finalStatus = status;
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("trial_id", a.id());
        result.put("name", a.name());
        result.put("status", status.name().toLowerCase(java.util.Locale.ROOT));
        if (a.stopReason != null) {
            result.put("reason", a.stopReason);
        }
        result.put("parameters", a.request.model().spec().parameters());
        result.put("metrics", metrics);
        checkpointer.tell(new Checkpointer.Finish(a.id(), a.request.model().adapter().snapshot(), a.request.folder(),
                result, saveAdapter));
    }

    private Behavior<Command> onSaveDone(SaveDone m) {
        Checkpointer.Saved s = m.saved();
        Active a = active.get(s.trialId());
        if (a == null) {
            return this;
        }
        a.awaitingSave = false;
        if (s.error() != null) {
            remove(a);
            a.request.replyTo().tell(new Crashed(a.request.model(), "could not write: " + s.error(), false,
                    a.run.completedSteps(), a.lastCheckpoint));
            return this;
        }
        if (s.step() >= 0) {
            a.lastCheckpoint = s.path();
            a.lastSavedStep = s.step();
            a.request.events().tell(new TrialEvent.Checkpointed(a.id(), s.step(), s.path()));
        }
        if (a.finishing) {
            complete(a, a.finalStatus, a.finalMetrics == null ? Map.of() : a.finalMetrics,
                    a.finalMetrics == null ? null : a.request.folder().adapterDir());
        }
        tick();
        return this;
    }

    private void complete(Active a, TrialResult.Status status, Map<String, Double> metrics, Path adapter) {
        remove(a);
        String reason = status == TrialResult.Status.STOPPED ? a.stopReason
                : status == TrialResult.Status.CANCELLED ? "cancelled at step " + a.run.completedSteps() : null;
        a.request.replyTo().tell(new Completed(a.request.model(), status, metrics, a.run.completedSteps(),
                metrics.getOrDefault("train_runtime_s", 0.0), adapter, a.lastCheckpoint, reason));
    }

    private void remove(Active a) {
        active.remove(a.id());
        int i = turn.indexOf(a.id());
        turn.remove(a.id());
        if (i >= 0 && i < next) {
            next--;
        }
        if (next >= turn.size()) {
            next = 0;
        }
        a.run.close();
    }
}
