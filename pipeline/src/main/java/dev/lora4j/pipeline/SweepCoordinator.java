package dev.lora4j.pipeline;

import dev.lora4j.actors.AshaScheduler;
import dev.lora4j.actors.DevicePool;
import dev.lora4j.actors.Failure;
import dev.lora4j.actors.StopRule;
import dev.lora4j.actors.TrialEvent;
import dev.lora4j.actors.TrialFiles;
import dev.lora4j.actors.TrialResult;
import dev.lora4j.actors.TrialSession;
import dev.lora4j.config.ConfigError;
import dev.lora4j.sweep.Goal;
import dev.lora4j.sweep.SweepSpec;
import dev.lora4j.sweep.TrialSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * One sweep's lifecycle. It runs the pipeline stream over the lazily expanded trials
 * ({@code skip ended -> validate -> session per trial}), is the parent of every {@link TrialSession} (and watches
 * each: a session that dies without reporting still gets a failed result), keeps the leaderboard current, and
 * completes the report. A failing trial is a result, never a reason to stop; a storage fault (a full disk, the run
 * folder deleted) stops the sweep, leaving every interrupted trial resumable. Cancelling stops the stream at once and
 * every running trial at a step boundary after a checkpoint.
 *
 * <p>It keeps the books only: the leaderboard is rewritten at most once a second (and at the end), so its work per
 * trial stays constant however many trials have ended, and a cancel is never queued behind thousands of rewrites.
 */
public final class SweepCoordinator extends AbstractBehavior<SweepCoordinator.Command> {

    public sealed interface Command {}

    /** Graceful: no new trials; running ones checkpoint and stop. */
    public record Cancel(String reason) implements Command {}

    /** Cancels one trial (it ends as cancelled and resumes with the sweep). */
    public record CancelTrial(String trialId, String reason) implements Command {}

    /** Ends a sweep whose stream an app runs itself: cancels what still runs, then stops. */
    public record Stop() implements Command {}

    /** From the stream: run a checked trial in a session; {@code done} completes with its result. */
    record RunTrial(TrialSpec spec, List<ConfigError> errors, CompletableFuture<TrialResult> done)
            implements Command {}

    /** From the stream: a trial that ended in an earlier run, kept as it was. */
    record Kept(TrialResult result) implements Command {}

    private record SessionEnded(TrialResult result) implements Command {}

    private record SessionDied(String trialId) implements Command {}

    private record StreamDone(Throwable error) implements Command {}

    private enum Timer implements Command { FLUSH, CHECK_FOLDER }

    private static final Duration FLUSH_EVERY = Duration.ofSeconds(1);
    private static final Duration CHECK_FOLDER_EVERY = Duration.ofSeconds(2);

    /** What the sweep needs besides its spec. */
    record Setup(SweepSpec spec, SweepOptions options, Workers.Refs workers, EventHub hub, TrialFiles.Factory files,
            RunLock lock, AtomicBoolean cancelled, CompletableFuture<SweepReport> report) {}

    /** Runs the sweep's own stream over every trial of the spec. */
    static Behavior<Command> create(Setup setup) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
            SweepCoordinator c = new SweepCoordinator(ctx, timers, setup);
            c.runStream();
            return c;
        }));
    }

    /** Only the sessions: an app runs its own stream through {@code stages} (completed once the actor started). */
    static Behavior<Command> forStages(Setup setup, CompletableFuture<Stages> stages) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
            SweepCoordinator c = new SweepCoordinator(ctx, timers, setup);
            stages.complete(c.stages);
            return c;
        }));
    }

    private record Running(TrialSpec spec, ActorRef<TrialSession.Command> session, CompletableFuture<TrialResult> done) {}

    private final Setup setup;
    private final SweepSpec spec;
    private final SweepFolder folder;
    private final TimerScheduler<Command> timers;
    private final TrialSession.Plan plan;
    private final Stages stages;
    private final Map<String, Running> running = new LinkedHashMap<>();
    private final Map<String, TrialResult> results = new LinkedHashMap<>();
    private final ActorRef<TrialResult> sessionReports;
    private final long started = System.nanoTime();
    private UniqueKillSwitch killSwitch;
    private boolean dirty;
    private String stopReason;
    private boolean stopping;
    private boolean streamDone;

    private SweepCoordinator(ActorContext<Command> ctx, TimerScheduler<Command> timers, Setup setup) {
        super(ctx);
        this.setup = setup;
        this.spec = setup.spec();
        this.timers = timers;
        this.folder = new SweepFolder(setup.options().folder());
        List<DevicePool.DeviceLayout> layout = Devices.layout(spec.base().resources(), setup.options().cpuLanes(),
                setup.options().cpuThreadsPerLane(), Runtime.getRuntime().availableProcessors());
        int slots = layout.stream().mapToInt(d -> d.lanes() * d.trialsPerLane()).sum();
        this.plan = new TrialSession.Plan(setup.workers().services(), layout, spec.metric().name(),
                spec.metric().goal() == Goal.MAXIMIZE, spec.base().resources().maxFailures().orElse(0),
                setup.options().keepCheckpoints(), setup.options().resume(), stopRule(spec), setup.hub().input());
        this.stages = new Stages(new Stages.Context(ctx.getSystem(), ctx.getSelf(), setup.workers().validator(),
                setup.hub().input(), setup.files(), setup.options().resume(), setup.cancelled(), plan.stopRule(),
                slots));
        this.sessionReports = ctx.messageAdapter(TrialResult.class, SessionEnded::new);
        timers.startTimerWithFixedDelay(Timer.CHECK_FOLDER, Timer.CHECK_FOLDER, CHECK_FOLDER_EVERY);
    }

    /** ASHA with rungs that count evaluations: rung k is at grace * eta^k evaluations of eval_steps each. */
    private static StopRule stopRule(SweepSpec spec) {
        return spec.earlyTerminate().map(a -> {
            long every = spec.base().training().evalSteps().orElse(1);
            long maxT = a.maxT().isPresent() ? a.maxT().getAsInt() * every : Long.MAX_VALUE / 4;
            return (StopRule) new AshaScheduler(a.gracePeriod() * every, a.reductionFactor(), maxT,
                    spec.metric().name(), spec.metric().goal() == Goal.MAXIMIZE);
        }).orElse(null);
    }

    private void runStream() {
        Pair<UniqueKillSwitch, java.util.concurrent.CompletionStage<org.apache.pekko.Done>> run =
                Source.fromIterator(() -> spec.trials().iterator())
                        .viaMat(KillSwitches.single(), Keep.right())
                        .via(stages.all(stages.slots()))
                        .toMat(Sink.ignore(), Keep.both())
                        .run(getContext().getSystem());
        killSwitch = run.first();
        getContext().pipeToSelf(run.second(), (done, error) -> new StreamDone(error));
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(RunTrial.class, this::onRunTrial)
                .onMessage(Kept.class, m -> {
                    record(m.result());
                    return this;
                })
                .onMessage(SessionEnded.class, this::onSessionEnded)
                .onMessage(SessionDied.class, this::onSessionDied)
                .onMessage(Cancel.class, m -> {
                    cancel(m.reason());
                    return this;
                })
                .onMessage(CancelTrial.class, m -> {
                    Running r = running.get(m.trialId());
                    if (r != null) {
                        r.session().tell(new TrialSession.Cancel(m.reason()));
                    }
                    return this;
                })
                .onMessage(Stop.class, m -> {
                    stopping = true;
                    cancel("the pipeline was closed");
                    return maybeEnd();
                })
                .onMessage(StreamDone.class, m -> {
                    streamDone = true;
                    if (m.error() != null && !setup.cancelled().get()) {
                        getContext().getLog().error("sweep {}: the pipeline failed", spec.name(), m.error());
                        stopReason = "the pipeline failed: " + m.error();
                    }
                    return maybeEnd();
                })
                .onMessageEquals(Timer.FLUSH, () -> {
                    flush();
                    return this;
                })
                .onMessageEquals(Timer.CHECK_FOLDER, () -> {
                    if (setup.lock() != null && !setup.lock().present()) {
                        storageFault("the run folder " + folder.dir() + " was removed or moved while the sweep ran");
                    }
                    return this;
                })
                .onSignal(PostStop.class, s -> {
                    // stopped before its end (a bug, or the actor system going down): let nothing wait on it
                    if (killSwitch != null && !streamDone) {
                        killSwitch.abort(new IllegalStateException("the sweep's coordinator stopped"));
                    }
                    running.values().forEach(r -> r.done().completeExceptionally(
                            new IllegalStateException("the sweep's coordinator stopped")));
                    releaseFolder();
                    if (!setup.report().isDone()) {
                        setup.report().complete(currentReport());
                    }
                    return this;
                })
                .build();
    }

    private Behavior<Command> onRunTrial(RunTrial m) {
        String id = m.spec().id();
        if (running.containsKey(id) || results.containsKey(id)) {
            // two trials with one id would share a folder: the second is refused, not run
            m.done().complete(TrialResult.of(m.spec()).status(TrialResult.Status.REJECTED).attempts(0)
                    .reason("another trial of this sweep has the id " + id).build());
            return this;
        }
        boolean cancelled = setup.cancelled().get();
        ActorRef<TrialSession.Command> session = getContext().spawn(
                TrialSession.create(m.spec(), m.errors(), plan, setup.files().of(id), cancelled, sessionReports),
                "trial-" + id + "-" + m.spec().index(), DispatcherSelector.blocking());
        getContext().watchWith(session, new SessionDied(id));
        running.put(id, new Running(m.spec(), session, m.done()));
        return this;
    }

    private Behavior<Command> onSessionEnded(SessionEnded m) {
        TrialResult r = m.result();
        Running run = running.remove(r.trialId());
        if (run == null) {
            return this;
        }
        record(r);
        run.done().complete(r);
        if (r.failure() instanceof Failure.Storage s && r.status() == TrialResult.Status.CANCELLED
                && !setup.cancelled().get()) {
            storageFault(s.message());
        }
        return maybeEnd();
    }

    private Behavior<Command> onSessionDied(SessionDied m) {
        Running run = running.remove(m.trialId());
        if (run == null) {
            return this;
        }
        // the session stopped without reporting (a bug): the trial still gets its one result and event
        TrialResult r = TrialResult.of(run.spec()).status(TrialResult.Status.FAILED)
                .failure(new Failure.Internal("the trial's session stopped unexpectedly (see the log)")).build();
        try {
            setup.files().of(m.trialId()).writeResult(r);
        } catch (RuntimeException e) {
            getContext().getLog().warn("trial {}: result.json not written: {}", m.trialId(), e.toString());
        }
        setup.hub().input().tell(new TrialEvent.Ended(r, false));
        record(r);
        run.done().complete(r);
        return maybeEnd();
    }

    private void record(TrialResult r) {
        results.put(r.trialId(), r);
        dirty = true;
        if (!timers.isTimerActive(Timer.FLUSH)) {
            timers.startSingleTimer(Timer.FLUSH, Timer.FLUSH, FLUSH_EVERY);
        }
    }

    private void flush() {
        if (!dirty) {
            return;
        }
        dirty = false;
        try {
            folder.writeLeaderboard(currentReport());
        } catch (RuntimeException e) {
            storageFault(Failure.of(e).message());
        }
    }

    private void storageFault(String message) {
        if (stopReason == null) {
            getContext().getLog().error("sweep {}: {}; stopping (resume once it is fixed)", spec.name(), message);
            stopReason = message;
        }
        cancel("the sweep stopped: " + message);
    }

    private void cancel(String reason) {
        boolean first = !setup.cancelled().getAndSet(true);
        if (killSwitch != null) {
            killSwitch.shutdown();
        }
        if (first || !running.isEmpty()) {
            getContext().getLog().info("sweep {}: cancelling {} running trial(s)", spec.name(), running.size());
            running.values().forEach(r -> r.session().tell(new TrialSession.Cancel(reason)));
        }
    }

    private Behavior<Command> maybeEnd() {
        boolean over = running.isEmpty() && (streamDone || stopping);
        if (!over) {
            return this;
        }
        dirty = true;
        flush();
        // the folder is free and the events complete before anyone learns the sweep is over
        releaseFolder();
        setup.report().complete(currentReport());
        return Behaviors.stopped();
    }

    private void releaseFolder() {
        if (setup.lock() != null) {
            setup.lock().close();
        }
        setup.hub().complete();
    }

    private SweepReport currentReport() {
        return new SweepReport(spec.name(), spec.metric(), new ArrayList<>(results.values()),
                Duration.ofNanos(System.nanoTime() - started), setup.cancelled().get(), stopReason);
    }
}
