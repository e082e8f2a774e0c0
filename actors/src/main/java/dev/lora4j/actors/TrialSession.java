package dev.lora4j.actors;

import dev.lora4j.api.trial.Failure;
import dev.lora4j.api.trial.TrialEvent;
import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.checkpoint.Checkpoint;
import dev.lora4j.config.ConfigError;
import dev.lora4j.sweep.TrialSpec;
import dev.lora4j.train.TrialData;
import dev.lora4j.train.TrialRun;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * The one owner of a running trial. It leases a lane, gets the trial's model on that lane's device, opens its data,
 * has the lane train it, writes every file of the trial, retries failed attempts (from the last checkpoint; out of
 * memory with half the micro-batch and twice the accumulation), releases everything it holds exactly once, and always
 * ends in one terminal state: it writes {@code result.json}, publishes one {@link TrialEvent.Ended} and reports the
 * result to its parent, then stops.
 *
 * <p>Nothing it waits for can leave it waiting forever: it watches the lane, the model injector and the data loader
 * while it depends on them (a death is a failed attempt), and those restart-supervised actors answer pending requests
 * when they restart. Long work (training) reports with messages; there is no ask. It must run on a dispatcher for
 * blocking work: it writes files synchronously, in order, so a trial's files have a single writer.
 */
public final class TrialSession extends AbstractBehavior<TrialSession.Command> {

    public sealed interface Command {}

    /** Ends the trial as cancelled: at once if it is not training yet, else at the next step after a checkpoint. */
    public record Cancel(String reason) implements Command {}

    private record FromPool(DevicePool.LeaseReply reply) implements Command {}

    private record FromInjector(ModelInjector.InjectResult result) implements Command {}

    private record FromData(DataLoader.Opened opened) implements Command {}

    private record FromLane(Trainer.Report report) implements Command {}

    private record Stopped(Phase phase, String what, ActorRef<?> ref) implements Command {}

    /** The actors a session works with (shared by every trial of a lora4j instance). */
    public record Services(ActorRef<DevicePool.Command> pool, ActorRef<ModelInjector.Command> injector,
            ActorRef<DataLoader.Command> data) {}

    /**
     * How the sweep runs its trials.
     *
     * @param devices where trials may train
     * @param maxRetries retries of a failed attempt (out-of-memory back-offs come on top while micro-batches halve)
     * @param keepCheckpoints checkpoints kept per trial besides the best (0: the trial's save_total_limit)
     * @param resume continue from the trial's last checkpoint (a resumed sweep)
     * @param stopRule the sweep's early termination, or null
     */
    public record Plan(Services services, List<DevicePool.DeviceLayout> devices, String metric, boolean maximize,
            int maxRetries, int keepCheckpoints, boolean resume, StopRule stopRule, ActorRef<TrialEvent> events) {}

    /**
     * @param errors the validation errors that reject the trial (empty: it runs)
     * @param cancelled the sweep was cancelled before the trial could start: it only records that
     */
    public static Behavior<Command> create(TrialSpec spec, List<ConfigError> errors, Plan plan, TrialFiles files,
            boolean cancelled, ActorRef<TrialResult> reportTo) {
        return Behaviors.setup(ctx -> new TrialSession(ctx, spec, plan, files, reportTo).start(errors, cancelled));
    }

    private enum Phase { LEASING, INJECTING, OPENING, TRAINING, ENDED }

    private static final int MAX_OOM_BACKOFFS = 3;

    private final TrialSpec spec;
    private final Plan plan;
    private final TrialFiles files;
    private final ActorRef<TrialResult> reportTo;
    private final ActorRef<DevicePool.LeaseReply> poolReplies;
    private final ActorRef<ModelInjector.InjectResult> injectorReplies;
    private final ActorRef<DataLoader.Opened> dataReplies;
    private final ActorRef<Trainer.Report> laneReplies;

    private Phase phase = Phase.LEASING;
    private int attempt = 1;
    private int batchSize;
    private int accumulation;
    private int oomBackoffs;
    private String cancelReason;
    /** A fault of the machine seen while training: the lane is asked to stop, then the attempt ends with it. */
    private Failure pendingFault;

    // what the current attempt holds
    private boolean leased;
    private boolean leaseWaiting;
    private DeviceSlot slot;
    private ActorRef<Trainer.Command> lane;
    private TrialModel model;
    private TrialData data;
    private boolean watchingPool;
    private boolean watchingInjector;
    private boolean watchingData;

    private Path lastCheckpoint;
    private long lastStep;

    private TrialSession(ActorContext<Command> ctx, TrialSpec spec, Plan plan, TrialFiles files,
            ActorRef<TrialResult> reportTo) {
        super(ctx);
        this.spec = spec;
        this.plan = plan;
        this.files = files;
        this.reportTo = reportTo;
        this.batchSize = spec.training().batchSize();
        this.accumulation = spec.training().gradientAccumulationSteps();
        this.poolReplies = ctx.messageAdapter(DevicePool.LeaseReply.class, FromPool::new);
        this.injectorReplies = ctx.messageAdapter(ModelInjector.InjectResult.class, FromInjector::new);
        this.dataReplies = ctx.messageAdapter(DataLoader.Opened.class, FromData::new);
        this.laneReplies = ctx.messageAdapter(Trainer.Report.class, FromLane::new);
    }

    private Behavior<Command> start(List<ConfigError> errors, boolean cancelled) {
        try {
            files.writeSpec(spec);
        } catch (RuntimeException e) {
            return end(TrialResult.Status.CANCELLED, Failure.of(e), null);
        }
        if (!errors.isEmpty()) {
            return end(TrialResult.of(spec).status(TrialResult.Status.REJECTED).reason("invalid config")
                    .errors(errors).attempts(0));
        }
        if (cancelled) {
            return end(TrialResult.Status.CANCELLED, new Failure.Cancelled("cancelled before it started"), null);
        }
        lease();
        return this;
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(FromPool.class, m -> onPool(m.reply()))
                .onMessage(FromInjector.class, m -> onInjector(m.result()))
                .onMessage(FromData.class, m -> onData(m.opened()))
                .onMessage(FromLane.class, m -> onLane(m.report()))
                .onMessage(Stopped.class, this::onStopped)
                .onMessage(Cancel.class, this::onCancel)
                .onSignal(PostStop.class, s -> {
                    releaseAttempt();
                    return this;
                })
                .build();
    }

    private void lease() {
        phase = Phase.LEASING;
        leaseWaiting = true;
        if (!watchingPool) {
            watchingPool = true;
            getContext().watchWith(plan.services().pool(), new Stopped(Phase.LEASING, "the device pool",
                    plan.services().pool()));
        }
        plan.services().pool().tell(new DevicePool.Lease(getContext().getSelf(), spec.id(), plan.devices(),
                poolReplies));
    }

    private Behavior<Command> onPool(DevicePool.LeaseReply reply) {
        if (phase != Phase.LEASING) {
            return this;
        }
        if (reply instanceof DevicePool.LeaseLost lost) {
            leaseWaiting = false;
            return attemptFailed(new Failure.DeviceLost(lost.reason()), 0);
        }
        DevicePool.Leased l = (DevicePool.Leased) reply;
        unwatchPool();
        leaseWaiting = false;
        leased = true;
        slot = l.slot();
        lane = l.lane();
        getContext().watchWith(lane, new Stopped(Phase.TRAINING, "lane " + slot.laneName(), lane));
        if (cancelReason != null) {
            return end(TrialResult.Status.CANCELLED, new Failure.Cancelled(cancelReason), null);
        }
        phase = Phase.INJECTING;
        watchingInjector = true;
        getContext().watchWith(plan.services().injector(), new Stopped(Phase.INJECTING, "the model injector",
                plan.services().injector()));
        plan.services().injector().tell(new ModelInjector.Inject(spec, slot.device(), injectorReplies));
        return this;
    }

    private Behavior<Command> onInjector(ModelInjector.InjectResult result) {
        if (result instanceof ModelInjector.Injected i && (phase != Phase.INJECTING || model != null)) {
            // an answer for an attempt that already ended
            i.model().release();
            return this;
        }
        if (phase != Phase.INJECTING) {
            return this;
        }
        unwatchInjector();
        if (result instanceof ModelInjector.InjectFailed f) {
            return attemptFailed(f.failure(), 0);
        }
        model = ((ModelInjector.Injected) result).model();
        warnAbout(model);
        if (cancelReason != null) {
            return end(TrialResult.Status.CANCELLED, new Failure.Cancelled(cancelReason), null);
        }
        phase = Phase.OPENING;
        watchingData = true;
        getContext().watchWith(plan.services().data(), new Stopped(Phase.OPENING, "the data loader",
                plan.services().data()));
        plan.services().data().tell(new DataLoader.Open(spec, model.base(), batchSize, dataReplies));
        return this;
    }

    /** What loading the base and creating the adapter warned about, for the sweep's subscribers. */
    private void warnAbout(TrialModel m) {
        List<String> all = new ArrayList<>();
        if (m.base() != null) {
            all.addAll(m.base().warnings());
        }
        if (m.adapter() != null) {
            all.addAll(m.adapter().warnings());
        }
        all.forEach(w -> plan.events().tell(new TrialEvent.Warned(spec.id(), spec.name(), w)));
    }

    private Behavior<Command> onData(DataLoader.Opened opened) {
        if (opened instanceof DataLoader.Ready r && (phase != Phase.OPENING || data != null)) {
            closeQuietly(r.data());
            return this;
        }
        if (phase != Phase.OPENING) {
            return this;
        }
        unwatchData();
        if (opened instanceof DataLoader.OpenFailed f) {
            return attemptFailed(f.failure(), 0);
        }
        data = ((DataLoader.Ready) opened).data();
        if (cancelReason != null) {
            return end(TrialResult.Status.CANCELLED, new Failure.Cancelled(cancelReason), null);
        }
        Checkpoint from;
        try {
            from = plan.resume() || attempt > 1 ? newestReadableCheckpoint() : null;
            long at = from == null ? 0 : from.state().step();
            files.truncateProgressAfter(at);
            replayEvaluations(at);
            lastStep = at;
        } catch (RuntimeException e) {
            return attemptFailed(Failure.of(e), 0);
        }
        phase = Phase.TRAINING;
        TrialRun.Settings settings = TrialRun.Settings.of(spec.training(), plan.metric(), plan.maximize())
                .withAccumulation(accumulation);
        TrialData given = data;
        data = null; // the lane owns the batches from here on
        lane.tell(new Trainer.Train(model, given, settings, from, plan.stopRule(), laneReplies, getContext().getSelf()));
        return this;
    }

    /** The newest checkpoint that reads back; a torn or corrupt one is skipped with a warning. */
    private Checkpoint newestReadableCheckpoint() {
        for (Path p : files.checkpoints()) {
            try {
                Checkpoint c = files.loadCheckpoint(p);
                lastCheckpoint = p;
                return c;
            } catch (RuntimeException e) {
                getContext().getLog().warn("trial {}: checkpoint {} cannot be read ({}); falling back to the one"
                        + " before it", spec.id(), p, e.getMessage());
            }
        }
        return null;
    }

    /** Tells the stop rule what the trial reached before {@code step} in earlier runs or attempts. */
    private void replayEvaluations(long step) {
        if (plan.stopRule() == null || step == 0) {
            return;
        }
        for (Map<String, Double> row : files.progress()) {
            Double s = row.get("step");
            if (s != null && s <= step && row.keySet().stream().anyMatch(k -> k.startsWith("eval_"))) {
                plan.stopRule().replay(spec.id(), s.longValue(), row);
            }
        }
    }

    private Behavior<Command> onLane(Trainer.Report report) {
        if (phase != Phase.TRAINING) {
            return this;
        }
        if (report instanceof Trainer.Started s) {
            plan.events().tell(new TrialEvent.Started(spec.id(), spec.name(), slot.laneName(), s.totalSteps(),
                    s.resumedAtStep(), attempt));
        } else if (report instanceof Trainer.Stepped s) {
            lastStep = s.report().step();
            if (pendingFault == null) {
                write(() -> files.appendStep(s.report()));
                plan.events().tell(new TrialEvent.Progress(spec.id(), spec.name(), s.report()));
            }
        } else if (report instanceof Trainer.Evaluated e) {
            if (pendingFault == null) {
                write(() -> files.appendEval(e.step(), e.metrics()));
                plan.events().tell(new TrialEvent.Evaluated(spec.id(), spec.name(), e.step(), e.metrics(), e.best()));
            }
        } else if (report instanceof Trainer.SaveCheckpoint c) {
            onSaveCheckpoint(c);
        } else if (report instanceof Trainer.Completed c) {
            return onCompleted(c);
        } else if (report instanceof Trainer.Crashed c) {
            return attemptFailed(pendingFault != null ? pendingFault : c.failure(), c.step());
        }
        return this;
    }

    private void onSaveCheckpoint(Trainer.SaveCheckpoint c) {
        long step = c.checkpoint().state().step();
        int keep = plan.keepCheckpoints() > 0 ? plan.keepCheckpoints()
                : spec.training().saveTotalLimit().orElse(0);
        try {
            Path p = files.saveCheckpoint(c.checkpoint(), keep, c.protectStep());
            lastCheckpoint = p;
            lane.tell(new Trainer.Saved(getContext().getSelf(), step, null));
            plan.events().tell(new TrialEvent.Checkpointed(spec.id(), step, p));
        } catch (RuntimeException e) {
            Failure f = Failure.of(e);
            if (pendingFault == null) {
                pendingFault = f;
            }
            lane.tell(new Trainer.Saved(getContext().getSelf(), step, f));
        }
    }

    /**
     * A write of a progress row. If the disk refuses it, the lane drops the trial without a checkpoint: the attempt
     * ends there and the next one starts from the last checkpoint, so no row goes missing from progress.csv.
     */
    private void write(Runnable w) {
        try {
            w.run();
        } catch (RuntimeException e) {
            pendingFault = Failure.of(e);
            lane.tell(new Trainer.Abandon(getContext().getSelf(), pendingFault));
        }
    }

    private Behavior<Command> onCompleted(Trainer.Completed c) {
        // the lane let go of the model and the batches
        if (pendingFault != null) {
            return attemptFailed(pendingFault, c.steps());
        }
        Path adapter = null;
        if (c.adapter() != null) {
            try {
                adapter = files.writeAdapter(c.adapter());
            } catch (RuntimeException e) {
                return attemptFailed(Failure.of(e), c.steps());
            }
        }
        TrialResult.Builder r = TrialResult.of(spec).status(c.status()).metrics(c.metrics()).steps(c.steps())
                .seconds(c.seconds()).adapter(adapter).lastCheckpoint(lastCheckpoint).reason(c.reason())
                .attempts(attempt);
        if (c.status() == TrialResult.Status.CANCELLED) {
            r.failure(new Failure.Cancelled(cancelReason != null ? cancelReason : c.reason()));
        }
        return end(r);
    }

    private Behavior<Command> onStopped(Stopped m) {
        boolean matters = switch (m.phase()) {
            case LEASING -> phase == Phase.LEASING && watchingPool;
            case INJECTING -> phase == Phase.INJECTING && watchingInjector;
            case OPENING -> phase == Phase.OPENING && watchingData;
            default -> m.ref().equals(lane) && phase != Phase.ENDED && phase != Phase.LEASING;
        };
        if (!matters) {
            return this;
        }
        if (m.phase() == Phase.LEASING) {
            watchingPool = false;
            leaseWaiting = false;
        }
        if (m.phase() == Phase.TRAINING) {
            // the lane's own end of things (its hold on the model) went with it; the pool replaces it before the
            // retry asks for a lane, so the retry cannot be handed the dead one
            plan.services().pool().tell(new DevicePool.LaneGone(lane));
            lane = null;
        }
        return attemptFailed(new Failure.DeviceLost(m.what() + " stopped unexpectedly"), lastStep);
    }

    private Behavior<Command> onCancel(Cancel m) {
        if (cancelReason != null || phase == Phase.ENDED) {
            return this;
        }
        cancelReason = m.reason();
        switch (phase) {
            case LEASING -> {
                return end(TrialResult.Status.CANCELLED, new Failure.Cancelled(cancelReason), null);
            }
            case TRAINING -> lane.tell(new Trainer.Cancel(getContext().getSelf()));
            default -> {
                // injecting or opening: the answer is on its way; the trial ends when it arrives
            }
        }
        return this;
    }

    /** An attempt failed: retry it (from the last checkpoint) or end the trial. */
    private Behavior<Command> attemptFailed(Failure failure, long step) {
        releaseAttempt();
        pendingFault = null;
        if (cancelReason != null) {
            return end(TrialResult.Status.CANCELLED, new Failure.Cancelled(cancelReason), null);
        }
        boolean backoff = failure instanceof Failure.OutOfMemory && batchSize > 1 && oomBackoffs < MAX_OOM_BACKOFFS;
        boolean retry = failure.retryable() && (backoff || attempt <= plan.maxRetries());
        if (retry) {
            attempt++;
            if (backoff) {
                oomBackoffs++;
                batchSize = Math.max(1, batchSize / 2);
                accumulation *= 2;
            }
            getContext().getLog().info("trial {}: attempt {} failed ({}: {}); retrying", spec.id(), attempt - 1,
                    failure.kind(), failure.message());
            plan.events().tell(new TrialEvent.Retried(spec.id(), spec.name(), attempt, failure, batchSize,
                    accumulation));
            lease();
            return this;
        }
        lastStep = Math.max(lastStep, step);
        // a machine fault does not make the trial a failure: it stays resumable and the sweep stops
        return end(failure instanceof Failure.Storage ? TrialResult.Status.CANCELLED : TrialResult.Status.FAILED,
                failure, null);
    }

    private Behavior<Command> end(TrialResult.Status status, Failure failure, Map<String, Double> metrics) {
        if (lastCheckpoint == null) {
            try {
                lastCheckpoint = files.checkpoints().stream().findFirst().orElse(null);
            } catch (RuntimeException e) {
                // the folder may be gone; the result says what is known
            }
        }
        return end(TrialResult.of(spec).status(status).failure(failure).metrics(metrics).steps(lastStep)
                .lastCheckpoint(lastCheckpoint).attempts(attempt));
    }

    private Behavior<Command> end(TrialResult.Builder builder) {
        phase = Phase.ENDED;
        releaseAttempt();
        TrialResult result = builder.build();
        try {
            files.writeResult(result);
        } catch (RuntimeException e) {
            Failure f = Failure.of(e);
            getContext().getLog().warn("trial {}: {} ", spec.id(), f.message());
            if (result.status() != TrialResult.Status.CANCELLED) {
                // without result.json a resumed sweep must run it again: it is interrupted, not ended
                result = result.toBuilder().status(TrialResult.Status.CANCELLED).reason(null).failure(f).build();
            }
        }
        plan.events().tell(new TrialEvent.Ended(result, false));
        reportTo.tell(result);
        return Behaviors.stopped();
    }

    /** Lets go of everything the current attempt holds; safe to call more than once. */
    private void releaseAttempt() {
        unwatchPool();
        unwatchInjector();
        unwatchData();
        if (lane != null) {
            if (phase == Phase.TRAINING) {
                // still training (we are stopping for another reason): the lane drops it when it sees us gone
                lane.tell(new Trainer.Cancel(getContext().getSelf()));
            }
            getContext().unwatch(lane);
            lane = null;
        }
        if (leased || leaseWaiting) {
            // gives the lane back, or withdraws a lease still waiting
            plan.services().pool().tell(new DevicePool.Release(getContext().getSelf()));
            leased = false;
            leaseWaiting = false;
        }
        if (model != null) {
            model.release();
            model = null;
        }
        if (data != null) {
            closeQuietly(data);
            data = null;
        }
    }

    private void unwatchPool() {
        if (watchingPool) {
            getContext().unwatch(plan.services().pool());
            watchingPool = false;
        }
    }

    private void unwatchInjector() {
        if (watchingInjector) {
            getContext().unwatch(plan.services().injector());
            watchingInjector = false;
        }
    }

    private void unwatchData() {
        if (watchingData) {
            getContext().unwatch(plan.services().data());
            watchingData = false;
        }
    }

    private void closeQuietly(TrialData d) {
        try {
            if (d.train() != null) {
                d.train().close();
            }
        } catch (RuntimeException e) {
            getContext().getLog().warn("trial {}: closing its data failed: {}", spec.id(), e.toString());
        }
    }
}
