package dev.lora4j.actors;

import dev.lora4j.api.trial.Failure;
import dev.lora4j.api.trial.TrialEvent;
import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.checkpoint.Checkpoint;
import dev.lora4j.config.ConfigError;
import dev.lora4j.files.AtomicFiles;
import dev.lora4j.lora.AdapterSnapshot;
import dev.lora4j.sweep.TrialSpec;
import dev.lora4j.train.StepReport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * The one owner of a running trial. It leases a lane (on this node or a worker's), has the lane's host start an
 * attempt there ({@link TrialAttempt}: model, data and training on that node), writes every file of the trial as the
 * attempt reports, retries failed attempts (from the last checkpoint; out of memory with half the micro-batch and
 * twice the accumulation; a lost node on another lane without using up a retry), releases everything it holds exactly
 * once, and always ends in one terminal state: it writes {@code result.json}, publishes one {@link TrialEvent.Ended}
 * and reports the result to its parent, then stops.
 *
 * <p>Nothing it waits for can leave it waiting forever: it watches the pool while leasing, and the lane and the
 * attempt while it depends on them (a death, a node downed by the cluster included, is a failed attempt); the
 * restart-supervised pool answers pending leases when it restarts. Long work (training) reports with messages; there
 * is no ask. It must run on a dispatcher for blocking work: it writes files synchronously, in order, so a trial's
 * files have a single writer, wherever the trial trains. The sweep's early termination is decided here, on each
 * evaluation the attempt reports, and sent back as a verdict the lane waits for.
 */
public final class TrialSession extends AbstractBehavior<TrialSession.Command> {

    public sealed interface Command {}

    /** Ends the trial as cancelled: at once if it is not training yet, else at the next step after a checkpoint. */
    public record Cancel(String reason) implements Command, LocalOnly {}

    /**
     * Ends the trial for good as the user asked (the dashboard's stop button): before its next step, as an early
     * termination ends it (final evaluation, metrics, best adapter), with status stopped, which a resumed sweep keeps
     * instead of continuing. A trial that has not started training ends at once, stopped without training.
     */
    public record StopByUser() implements Command, LocalOnly {}

    /** The reason a trial stopped by the user gives in result.json and the leaderboard. */
    public static final String STOPPED_BY_USER = "stopped by the user";

    /** What the trial's attempt reports from its lane's node; {@code attempt} tells an old attempt's reports apart. */
    public sealed interface AttemptReport extends Command {
        int attempt();
    }

    /** The attempt runs: the session watches it and sends it the checkpoint to resume from. */
    public record Attached(int attempt, ActorRef<TrialAttempt.Command> ref, String node)
            implements AttemptReport, CrossNode {}

    /** What loading the base and creating the adapter warned about. */
    public record Warned(int attempt, List<String> warnings) implements AttemptReport, CrossNode {}

    public record Started(int attempt, long totalSteps, long resumedAtStep) implements AttemptReport, CrossNode {}

    public record Stepped(int attempt, StepReport report) implements AttemptReport, CrossNode {}

    /** An evaluation; with a stop rule the lane waits for a {@link TrialAttempt.Verdict} on it. */
    public record Evaluated(int attempt, long step, Map<String, Double> metrics, boolean best)
            implements AttemptReport, CrossNode {}

    /** A checkpoint to write (from this node); answer with {@link TrialAttempt.Saved}. */
    public record CheckpointHere(int attempt, Checkpoint checkpoint, long protectStep)
            implements AttemptReport, LocalOnly {}

    /** A checkpoint to pull from another node and write; answer with {@link TrialAttempt.Saved}. */
    public record CheckpointOffered(int attempt, long step, long protectStep, Transfers.FolderOffer files)
            implements AttemptReport, CrossNode {}

    /** The trial left its lane (finished, stopped early or cancelled), on this node; {@code adapter} may be null. */
    public record FinishedHere(int attempt, TrialResult.Status status, Map<String, Double> metrics, long steps,
            double seconds, AdapterSnapshot adapter, String reason) implements AttemptReport, LocalOnly {}

    /** As {@link FinishedHere}, from another node: the adapter (if any) is pulled, then {@link TrialAttempt.AdapterStored}. */
    public record Finished(int attempt, TrialResult.Status status, Map<String, Double> metrics, long steps,
            double seconds, Transfers.FolderOffer adapter, String reason) implements AttemptReport, CrossNode {}

    /**
     * The attempt failed at {@code step}; it has let go of everything.
     *
     * @param laneDied the failure is the death of the lane (which the pool must not grant again)
     */
    public record Crashed(int attempt, Failure failure, long step, boolean laneDied)
            implements AttemptReport, CrossNode {}

    /** An attempt on another node asks for one of the trial's data files (by its path on this node). */
    public record FetchData(String path, ActorRef<DataReply> replyTo) implements Command, CrossNode {}

    public sealed interface DataReply {}

    public record DataOffered(Transfers.FileOffer file) implements DataReply, CrossNode {}

    public record DataRefused(String reason) implements DataReply, CrossNode {}

    private record FromPool(DevicePool.LeaseReply reply) implements Command, LocalOnly {}

    private record Stopped(String what, ActorRef<?> ref) implements Command, LocalOnly {}

    /** A transfer from another node completed ({@code error} null) or broke off. */
    private record Received(int attempt, long step, long protectStep, Path folder, Finished finished,
            Throwable error) implements Command, LocalOnly {}

    /** The actors a session works with (shared by every trial of a lora4j instance). */
    public record Services(ActorRef<DevicePool.Command> pool) {}

    /**
     * How the sweep runs its trials.
     *
     * @param devices this node's devices trials may train on (empty: only other nodes')
     * @param remoteTrialsPerLane trials per lane of other nodes (0: only this node's lanes)
     * @param maxRetries retries of a failed attempt (out-of-memory back-offs come on top while micro-batches halve)
     * @param keepCheckpoints checkpoints kept per trial besides the best (0: the trial's save_total_limit)
     * @param resume continue from the trial's last checkpoint (a resumed sweep)
     * @param stopRule the sweep's early termination, or null
     */
    public record Plan(Services services, List<DevicePool.DeviceLayout> devices, int remoteTrialsPerLane,
            String metric, boolean maximize, int maxRetries, int keepCheckpoints, boolean resume, StopRule stopRule,
            ActorRef<TrialEvent> events) {}

    /**
     * @param errors the validation errors that reject the trial (empty: it runs)
     * @param cancelled the sweep was cancelled before the trial could start: it only records that
     */
    public static Behavior<Command> create(TrialSpec spec, List<ConfigError> errors, Plan plan, TrialFiles files,
            boolean cancelled, ActorRef<TrialResult> reportTo) {
        return Behaviors.setup(ctx -> new TrialSession(ctx, spec, plan, files, reportTo).start(errors, cancelled));
    }

    private enum Phase { LEASING, PREPARING, TRAINING, ENDED }

    private static final int MAX_OOM_BACKOFFS = 3;
    /**
     * Attempts cut short by a lost node (or one that could not train the trial) that do not use up a retry; a trial
     * that kills every node it lands on still ends.
     */
    private static final int FREE_NODE_LOSSES = 3;

    /** The trial as it trains now: population-based training swaps its configuration for a copied trial's. */
    private TrialSpec spec;
    /** The trial as the sweep made it: its result records these parameters (the lineage records the rest). */
    private final TrialSpec original;
    private final Plan plan;
    private final TrialFiles files;
    private final ActorRef<TrialResult> reportTo;
    private final ActorRef<DevicePool.LeaseReply> poolReplies;

    private Phase phase = Phase.LEASING;
    private int attempt = 1;
    private int freeAttempts;
    private int batchSize;
    private int accumulation;
    private int oomBackoffs;
    /**
     * Attempts started to train on from another trial's checkpoint (population-based training): neither retries nor
     * counted in the result's attempts.
     */
    private int exploits;
    private long totalSteps = Long.MAX_VALUE;
    /** Population-based training decided that the trial copies another one once its lane lets go of it. */
    private StopRule.Exploit pendingExploit;
    private String cancelReason;
    /** The cancel under way is the user's stop: the trial ends as stopped, not cancelled. */
    private boolean stoppedByUser;
    /** A fault of the machine seen while training: the lane is asked to stop, then the attempt ends with it. */
    private Failure pendingFault;

    // what the current attempt holds
    private boolean leased;
    private boolean leaseWaiting;
    private boolean watchingPool;
    private DeviceSlot slot;
    private String node;
    private boolean remote;
    private ActorRef<Trainer.Command> lane;
    private ActorRef<TrialAttempt.Command> attemptRef;
    /** The attempt said its last word (finished or crashed): it stops by itself. */
    private boolean attemptDone;
    private Checkpoint resumeFrom;

    private Path lastCheckpoint;
    private long lastStep;

    private TrialSession(ActorContext<Command> ctx, TrialSpec spec, Plan plan, TrialFiles files,
            ActorRef<TrialResult> reportTo) {
        super(ctx);
        this.spec = spec;
        this.original = spec;
        this.plan = plan;
        this.files = files;
        this.reportTo = reportTo;
        this.batchSize = spec.training().batchSize();
        this.accumulation = spec.training().gradientAccumulationSteps();
        this.poolReplies = ctx.messageAdapter(DevicePool.LeaseReply.class, FromPool::new);
    }

    private Behavior<Command> start(List<ConfigError> errors, boolean cancelled) {
        try {
            files.writeSpec(spec);
        } catch (RuntimeException e) {
            return end(TrialResult.Status.CANCELLED, Failure.of(e), null);
        }
        if (!errors.isEmpty()) {
            return end(TrialResult.of(original).status(TrialResult.Status.REJECTED).reason("invalid config")
                    .errors(errors).attempts(0));
        }
        if (cancelled) {
            return end(TrialResult.Status.CANCELLED, new Failure.Cancelled("cancelled before it started"), null);
        }
        if (plan.stopRule() != null) {
            try {
                spec = plan.stopRule().begin(spec, files, plan.resume(), false);
            } catch (RuntimeException e) {
                return end(TrialResult.Status.CANCELLED, Failure.of(e), null);
            }
        }
        lease();
        return this;
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(FromPool.class, m -> onPool(m.reply()))
                .onMessage(AttemptReport.class, this::onReport)
                .onMessage(FetchData.class, this::onFetchData)
                .onMessage(Received.class, this::onReceived)
                .onMessage(Stopped.class, this::onStopped)
                .onMessage(Cancel.class, this::onCancel)
                .onMessage(StopByUser.class, m -> onStopByUser())
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
            getContext().watchWith(plan.services().pool(), new Stopped("the device pool", plan.services().pool()));
        }
        plan.services().pool().tell(new DevicePool.Lease(getContext().getSelf(), spec.id(),
                spec.model().text() + "|" + spec.task(), plan.devices(), plan.remoteTrialsPerLane(), poolReplies));
    }

    private Behavior<Command> onPool(DevicePool.LeaseReply reply) {
        if (phase != Phase.LEASING) {
            return this;
        }
        if (reply instanceof DevicePool.LeaseLost lost) {
            leaseWaiting = false;
            return attemptFailed(new Failure.DeviceLost(lost.reason()), 0, false);
        }
        DevicePool.Leased l = (DevicePool.Leased) reply;
        unwatchPool();
        leaseWaiting = false;
        leased = true;
        slot = l.slot();
        lane = l.lane();
        node = l.node();
        remote = !l.host().path().address().hasLocalScope();
        getContext().watchWith(lane, new Stopped("lane " + laneName(), lane));
        if (cancelReason != null) {
            return end(TrialResult.Status.CANCELLED, new Failure.Cancelled(cancelReason), null);
        }
        List<NodeFiles.DataFile> data = new ArrayList<>();
        long at;
        try {
            resumeFrom = plan.resume() || attempt > 1 ? newestReadableCheckpoint() : null;
            at = resumeFrom == null ? 0 : resumeFrom.state().step();
            files.truncateProgressAfter(at);
            replayEvaluations(at);
            lastStep = at;
            if (remote) {
                data.add(NodeFiles.DataFile.of(spec.data().train()));
                spec.data().eval().ifPresent(e -> data.add(NodeFiles.DataFile.of(e)));
            }
        } catch (RuntimeException e) {
            return attemptFailed(Failure.of(e), 0, false);
        }
        phase = Phase.PREPARING;
        StopRule rule = plan.stopRule();
        l.host().tell(new LaneHost.StartAttempt(TrialTree.of(spec), attempt, slot, lane, batchSize,
                accumulation, plan.metric(), plan.maximize(),
                rule == null ? List.of() : List.copyOf(rule.evaluationSteps()), rule != null,
                resumeFrom == null ? -1 : at, data, getContext().getSelf()));
        return this;
    }

    private String laneName() {
        return slot.laneName() + (remote ? " on node " + node : "");
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

    private Behavior<Command> onReport(AttemptReport report) {
        if (report.attempt() != attempt || (phase != Phase.PREPARING && phase != Phase.TRAINING)) {
            if (report instanceof Attached a) {
                // an attempt this session no longer wants (it retried or ended meanwhile)
                a.ref().tell(new TrialAttempt.Stop());
            }
            return this;
        }
        if (report instanceof Attached a) {
            return onAttached(a);
        } else if (report instanceof Warned w) {
            w.warnings().forEach(x -> plan.events().tell(new TrialEvent.Warned(spec.id(), spec.name(), x)));
        } else if (report instanceof Started s) {
            phase = Phase.TRAINING;
            totalSteps = s.totalSteps();
            plan.events().tell(new TrialEvent.Started(spec.id(), spec.name(), slot.laneName(), node, s.totalSteps(),
                    s.resumedAtStep(), attempt));
        } else if (report instanceof Stepped s) {
            lastStep = s.report().step();
            if (pendingFault == null) {
                write(() -> files.appendStep(s.report()));
                plan.events().tell(new TrialEvent.Progress(spec.id(), spec.name(), s.report()));
            }
        } else if (report instanceof Evaluated e) {
            onEvaluated(e);
        } else if (report instanceof CheckpointHere c) {
            onCheckpointHere(c);
        } else if (report instanceof CheckpointOffered c) {
            onCheckpointOffered(c);
        } else if (report instanceof FinishedHere f) {
            attemptDone = true;
            return onFinished(f.status(), f.metrics(), f.steps(), f.seconds(), f.reason(), () -> f.adapter() == null
                    ? null : files.writeAdapter(f.adapter()));
        } else if (report instanceof Finished f) {
            return onFinishedElsewhere(f);
        } else if (report instanceof Crashed c) {
            attemptDone = true;
            if (c.laneDied()) {
                plan.services().pool().tell(new DevicePool.LaneGone(lane));
            }
            // a worker that lost its lane, its data or cannot read the trial: the node's fault, not the trial's
            boolean nodeFault = remote && pendingFault == null && c.failure() instanceof Failure.DeviceLost;
            return attemptFailed(pendingFault != null ? pendingFault : c.failure(), c.step(), nodeFault);
        }
        return this;
    }

    private Behavior<Command> onAttached(Attached a) {
        if (attemptRef != null) {
            return this;
        }
        attemptRef = a.ref();
        attemptDone = false;
        getContext().watchWith(attemptRef, new Stopped("the trial's attempt" + (remote ? " on node " + node : ""),
                attemptRef));
        if (resumeFrom != null) {
            try {
                attemptRef.tell(remote
                        ? new TrialAttempt.ResumeOffered(resumeFrom.state().step(),
                                Transfers.offerFolder(lastCheckpoint, getContext().getSystem()))
                        : new TrialAttempt.ResumeHere(resumeFrom));
            } catch (RuntimeException e) {
                return attemptFailed(Failure.of(e), lastStep, false);
            }
            resumeFrom = null;
        }
        return this;
    }

    private void onEvaluated(Evaluated e) {
        if (pendingFault == null) {
            write(() -> files.appendEval(e.step(), e.metrics()));
            plan.events().tell(new TrialEvent.Evaluated(spec.id(), spec.name(), e.step(), e.metrics(), e.best()));
        }
        StopRule rule = plan.stopRule();
        if (rule != null && attemptRef != null) {
            String stop = rule.shouldStop(spec.id(), e.step(), e.metrics());
            if (stop == null && pendingFault == null && cancelReason == null && pendingExploit == null
                    && e.step() < totalSteps) {
                pendingExploit = rule.exploit(spec, e.step());
                if (pendingExploit != null) {
                    // the lane ends this attempt at the step; the trial goes on from the copied checkpoint
                    stop = "pbt: copies trial " + pendingExploit.parent() + " at step " + e.step();
                }
            }
            attemptRef.tell(new TrialAttempt.Verdict(e.step(), stop));
        }
    }

    private int keep() {
        if (plan.stopRule() != null && plan.stopRule().readsCheckpoints()) {
            // other trials copy this one's checkpoints of perturbation steps
            return 0;
        }
        return plan.keepCheckpoints() > 0 ? plan.keepCheckpoints() : spec.training().saveTotalLimit().orElse(0);
    }

    private void onCheckpointHere(CheckpointHere c) {
        long step = c.checkpoint().state().step();
        try {
            checkpointed(files.saveCheckpoint(c.checkpoint(), keep(), c.protectStep()), step);
        } catch (RuntimeException e) {
            checkpointFailed(Failure.of(e), step);
        }
    }

    private void onCheckpointOffered(CheckpointOffered c) {
        Path into;
        try {
            into = files.incoming();
        } catch (RuntimeException e) {
            checkpointFailed(Failure.of(e), c.step());
            return;
        }
        int n = attempt;
        getContext().pipeToSelf(Transfers.receiveFolder(c.files(), into, getContext().getSystem()),
                (p, e) -> new Received(n, c.step(), c.protectStep(), into, null, e));
    }

    private void checkpointed(Path p, long step) {
        lastCheckpoint = p;
        attemptRef.tell(new TrialAttempt.Saved(step, null));
        plan.events().tell(new TrialEvent.Checkpointed(spec.id(), step, p));
    }

    private void checkpointFailed(Failure f, long step) {
        if (pendingFault == null) {
            pendingFault = f;
        }
        attemptRef.tell(new TrialAttempt.Saved(step, f));
    }

    private Behavior<Command> onFinishedElsewhere(Finished f) {
        if (f.adapter() == null) {
            attemptDone = true;
            return onFinished(f.status(), f.metrics(), f.steps(), f.seconds(), f.reason(), () -> null);
        }
        Path into;
        try {
            into = files.incoming();
        } catch (RuntimeException e) {
            return attemptFailed(Failure.of(e), f.steps(), false);
        }
        int n = attempt;
        getContext().pipeToSelf(Transfers.receiveFolder(f.adapter(), into, getContext().getSystem()),
                (p, e) -> new Received(n, f.steps(), -1, into, f, e));
        return this;
    }

    private Behavior<Command> onReceived(Received m) {
        if (m.attempt() != attempt || phase != Phase.TRAINING) {
            deleteQuietly(m.folder());
            return this;
        }
        if (m.error() != null) {
            deleteQuietly(m.folder());
            Failure f = transferFailure(m.error(), m.finished() == null ? "the checkpoint of step " + m.step()
                    : "the adapter");
            if (m.finished() == null) {
                checkpointFailed(f, m.step());
                return this;
            }
            return attemptFailed(f, m.step(), false);
        }
        if (m.finished() == null) {
            try {
                checkpointed(files.adoptCheckpoint(m.folder(), m.step(), keep(), m.protectStep()), m.step());
            } catch (RuntimeException e) {
                deleteQuietly(m.folder());
                checkpointFailed(Failure.of(e), m.step());
            }
            return this;
        }
        Finished f = m.finished();
        attemptRef.tell(new TrialAttempt.AdapterStored());
        attemptDone = true;
        return onFinished(f.status(), f.metrics(), f.steps(), f.seconds(), f.reason(), () -> {
            try {
                return files.adoptAdapter(m.folder());
            } catch (RuntimeException e) {
                deleteQuietly(m.folder());
                throw e;
            }
        });
    }

    /** A transfer that broke off: the disk here (a storage fault) or the other node (retry elsewhere). */
    private Failure transferFailure(Throwable error, String what) {
        Failure f = Failure.of(error);
        if (f instanceof Failure.Storage) {
            return f;
        }
        return new Failure.DeviceLost(what + " did not arrive from node " + node + ": " + f.message());
    }

    /** Where the adapter of a finished attempt is written from (a snapshot, or a received folder). */
    @FunctionalInterface
    private interface AdapterWrite {
        Path write();
    }

    private Behavior<Command> onFinished(TrialResult.Status status, Map<String, Double> metrics, long steps,
            double seconds, String reason, AdapterWrite adapterWrite) {
        // the lane let go of the model and the batches
        if (pendingFault != null) {
            return attemptFailed(pendingFault, steps, false);
        }
        if (stoppedByUser && status == TrialResult.Status.STOPPED) {
            // the user's stop is final, even where population-based training meant to copy another trial here
            pendingExploit = null;
            reason = STOPPED_BY_USER;
        }
        if (pendingExploit != null && status == TrialResult.Status.STOPPED) {
            if (cancelReason == null) {
                return exploitNow();
            }
            // stopped only to copy another trial: cancelled, so a resumed sweep decides again at that step
            pendingExploit = null;
            return end(TrialResult.Status.CANCELLED, new Failure.Cancelled(cancelReason), null);
        }
        pendingExploit = null;
        Path adapter;
        try {
            adapter = adapterWrite.write();
        } catch (RuntimeException e) {
            return attemptFailed(Failure.of(e), steps, false);
        }
        TrialResult.Builder r = TrialResult.of(original).status(status).metrics(metrics).steps(steps)
                .seconds(seconds).adapter(adapter).lastCheckpoint(lastCheckpoint).reason(reason)
                .attempts(attempt - exploits);
        if (status == TrialResult.Status.CANCELLED) {
            r.failure(new Failure.Cancelled(cancelReason != null ? cancelReason : reason));
        }
        return end(r);
    }

    /**
     * Population-based training: the trial takes another trial's checkpoint and configuration and trains on from
     * there in a new attempt (same id, folder and progress up to the step). The lineage line is written before the
     * copy, so a kill between the two is repaired when the sweep resumes.
     */
    private Behavior<Command> exploitNow() {
        StopRule.Exploit x = pendingExploit;
        pendingExploit = null;
        try {
            files.appendLineage(x.step(), x.parent(), x.config());
            files.copyCheckpoint(x.checkpoint(), x.step());
        } catch (RuntimeException e) {
            return attemptFailed(Failure.of(e), x.step(), false);
        }
        getContext().getLog().info("trial {}: copied trial {} at step {}; trains on with {}", spec.id(), x.parent(),
                x.step(), x.config());
        spec = x.next();
        releaseAttempt();
        attempt++;
        exploits++;
        lease();
        return this;
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
            if (attemptRef != null) {
                attemptRef.tell(new TrialAttempt.Abandon(pendingFault));
            }
        }
    }

    private Behavior<Command> onFetchData(FetchData m) {
        List<Path> allowed = new ArrayList<>();
        allowed.add(spec.data().train());
        spec.data().eval().ifPresent(allowed::add);
        Path p = allowed.stream().filter(x -> x.toString().equals(m.path())).findFirst().orElse(null);
        if (p == null) {
            m.replyTo().tell(new DataRefused(m.path() + " is not a data file of trial " + spec.id()));
            return this;
        }
        try {
            m.replyTo().tell(new DataOffered(Transfers.offer(p, p.getFileName().toString(),
                    getContext().getSystem())));
        } catch (RuntimeException e) {
            m.replyTo().tell(new DataRefused(Failure.of(e).message()));
        }
        return this;
    }

    private Behavior<Command> onStopped(Stopped m) {
        if (m.ref().equals(plan.services().pool())) {
            if (phase != Phase.LEASING || !watchingPool) {
                return this;
            }
            watchingPool = false;
            leaseWaiting = false;
            return attemptFailed(new Failure.DeviceLost(m.what() + " stopped unexpectedly"), lastStep, false);
        }
        boolean ours = m.ref().equals(lane) || (m.ref().equals(attemptRef) && !attemptDone);
        if (!ours || (phase != Phase.PREPARING && phase != Phase.TRAINING)) {
            return this;
        }
        boolean nodeLost = nodeLost(m.ref());
        if (m.ref().equals(lane)) {
            // the pool never grants the dead lane again; its host starts a fresh one (unless the node is gone)
            plan.services().pool().tell(new DevicePool.LaneGone(lane));
        }
        String what = nodeLost ? "node " + node + " left the cluster" : m.what() + " stopped unexpectedly";
        return attemptFailed(new Failure.DeviceLost(what), lastStep, nodeLost);
    }

    /** Whether {@code ref} died with its node (downed or gone from the cluster), not on its own. */
    private boolean nodeLost(ActorRef<?> ref) {
        Address a = ref.path().address();
        if (a.hasLocalScope()) {
            return false;
        }
        for (Member m : Cluster.get(getContext().getSystem()).state().getMembers()) {
            if (m.address().equals(a)) {
                return m.status() != MemberStatus.up() && m.status() != MemberStatus.weaklyUp();
            }
        }
        return true;
    }

    private Behavior<Command> onStopByUser() {
        if (stoppedByUser || cancelReason != null || phase == Phase.ENDED) {
            return this;
        }
        stoppedByUser = true;
        if (phase == Phase.TRAINING) {
            attemptRef.tell(new TrialAttempt.StopEarly(STOPPED_BY_USER));
            return this;
        }
        // not training yet: it ends now, as a cancel would, and end() records it as stopped
        return onCancel(new Cancel(STOPPED_BY_USER));
    }

    private Behavior<Command> onCancel(Cancel m) {
        if (cancelReason != null || phase == Phase.ENDED) {
            return this;
        }
        cancelReason = m.reason();
        switch (phase) {
            case LEASING, PREPARING -> {
                return end(TrialResult.Status.CANCELLED, new Failure.Cancelled(cancelReason), null);
            }
            case TRAINING -> attemptRef.tell(new TrialAttempt.Cancel());
            default -> {
                // ended already
            }
        }
        return this;
    }

    /**
     * An attempt failed: retry it (from the last checkpoint) or end the trial.
     *
     * @param nodeLost the attempt's node left the cluster or could not train the trial: a retry does not use up
     *     the trial's retries (up to {@link #FREE_NODE_LOSSES} times)
     */
    private Behavior<Command> attemptFailed(Failure failure, long step, boolean nodeLost) {
        releaseAttempt();
        pendingFault = null;
        if (cancelReason != null) {
            return end(TrialResult.Status.CANCELLED, new Failure.Cancelled(cancelReason), null);
        }
        boolean free = nodeLost && freeAttempts < FREE_NODE_LOSSES;
        boolean backoff = failure instanceof Failure.OutOfMemory && batchSize > 1 && oomBackoffs < MAX_OOM_BACKOFFS;
        boolean retry = failure.retryable() && (free || backoff || attempt - freeAttempts - exploits <= plan.maxRetries());
        if (retry) {
            attempt++;
            if (free) {
                freeAttempts++;
            }
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
        return end(TrialResult.of(original).status(status).failure(failure).metrics(metrics).steps(lastStep)
                .lastCheckpoint(lastCheckpoint).attempts(attempt - exploits));
    }

    private Behavior<Command> end(TrialResult.Builder builder) {
        String trainedOn = node;
        phase = Phase.ENDED;
        releaseAttempt();
        TrialResult result = builder.node(trainedOn).build();
        if (stoppedByUser && result.status() == TrialResult.Status.CANCELLED
                && result.failure() instanceof Failure.Cancelled) {
            // the user's stop is final; a storage fault on the way stays an interruption (it is not Cancelled)
            result = result.toBuilder().status(TrialResult.Status.STOPPED).failure(null).reason(STOPPED_BY_USER)
                    .build();
        }
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
        if (attemptRef != null) {
            getContext().unwatch(attemptRef);
            if (!attemptDone) {
                // it frees the model, the data and its turn on the lane
                attemptRef.tell(new TrialAttempt.Stop());
            }
            attemptRef = null;
        }
        attemptDone = false;
        if (lane != null) {
            getContext().unwatch(lane);
            lane = null;
        }
        if (leased || leaseWaiting) {
            // gives the lane back, or withdraws a lease still waiting
            plan.services().pool().tell(new DevicePool.Release(getContext().getSelf()));
            leased = false;
            leaseWaiting = false;
        }
        resumeFrom = null;
    }

    private void unwatchPool() {
        if (watchingPool) {
            getContext().unwatch(plan.services().pool());
            watchingPool = false;
        }
    }

    private void deleteQuietly(Path p) {
        try {
            AtomicFiles.deleteRecursively(p);
        } catch (IOException | UncheckedIOException e) {
            getContext().getLog().warn("trial {}: cannot delete {}: {}", spec.id(), p, e.toString());
        }
    }
}
