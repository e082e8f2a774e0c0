package dev.lora4j.api;

import dev.lora4j.actors.TrialSession;
import dev.lora4j.api.trial.Failure;
import dev.lora4j.api.trial.TrialEvent;
import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.config.ConfigError;
import dev.lora4j.report.SweepFolder;
import dev.lora4j.sweep.SweepSpec;
import dev.lora4j.sweep.TrialSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.NotUsed;
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
 * One sweep's lifecycle. It is the parent of every {@link TrialSession} (and watches each: a session that dies
 * without reporting still gets a failed result), keeps the leaderboard current, and completes the report once no
 * stream serves the sweep any more and every session has ended. Either it runs the sweep's own stream over the spec's
 * trials ({@code skipEnded -> validate -> run}), or an app runs its own through {@link Stages}. A failing trial is a
 * result, never a reason to stop; a storage fault (a full disk, the run folder deleted) stops the sweep, leaving every
 * interrupted trial resumable. Cancelling stops the own stream's source at once and every running trial at a step
 * boundary after a checkpoint.
 *
 * <p>It keeps the books only: the leaderboard is rewritten at most once a second (and at the end), so its work per
 * trial stays constant however many trials have ended, and a cancel is never queued behind thousands of rewrites.
 */
final class SweepCoordinator extends AbstractBehavior<SweepCoordinator.Command> {

    sealed interface Command {}

    /** Graceful: no new trials; running ones checkpoint and stop. */
    record Cancel(String reason) implements Command {}

    /** Cancels one trial (it ends as cancelled and resumes with the sweep). */
    record CancelTrial(String trialId, String reason) implements Command {}

    /** Stops one trial for good, as the user asked: it ends as stopped and a resumed sweep keeps it. */
    record StopTrial(String trialId) implements Command {}

    /** No stream will open any more: the sweep ends once the open ones are done and their trials ended. */
    record Close() implements Command {}

    /** A {@code run} stage was materialized: the sweep does not end before it completes. */
    record FlowOpened(long flow) implements Command {}

    record FlowClosed(long flow, Throwable error) implements Command {}

    /** From the stream: run a checked trial in a session; {@code done} completes with its result. */
    record RunTrial(TrialSpec spec, List<ConfigError> errors, CompletableFuture<TrialResult> done)
            implements Command {}

    /** From the stream: a trial that ended in an earlier run, kept as it was. */
    record Kept(TrialResult result) implements Command {}

    private record SessionEnded(TrialResult result) implements Command {}

    private record SessionDied(String trialId) implements Command {}

    private enum Timer implements Command { FLUSH, CHECK_FOLDER }

    private static final Duration FLUSH_EVERY = Duration.ofSeconds(1);
    private static final Duration CHECK_FOLDER_EVERY = Duration.ofSeconds(2);

    /** Runs the sweep's own stream over every trial of the spec; the sweep ends with it. */
    static Behavior<Command> ownStream(SweepRun run) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
            SweepCoordinator c = new SweepCoordinator(ctx, timers, run);
            c.runStream();
            return c;
        }));
    }

    /** The sessions of a sweep whose stream the app runs through {@link Stages}; it ends after {@link Close}. */
    static Behavior<Command> forStages(SweepRun run) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new SweepCoordinator(ctx, timers, run)));
    }

    private record Running(TrialSpec spec, ActorRef<TrialSession.Command> session,
            CompletableFuture<TrialResult> done) {}

    private final SweepRun run;
    private final SweepSpec spec;
    private final SweepFolder folder;
    private final TimerScheduler<Command> timers;
    private final Map<String, Running> running = new LinkedHashMap<>();
    /** Trials the user stopped while they were queued behind the lanes: each is stopped as its session starts. */
    private final java.util.Set<String> stopWhenStarted = new java.util.HashSet<>();
    private final Map<String, TrialResult> results = new LinkedHashMap<>();
    private final java.util.Set<Long> openFlows = new java.util.HashSet<>();
    private final ActorRef<TrialResult> sessionReports;
    /** A bayes sweep's proposals; null for grid and random, whose trials are known in advance. */
    private final BayesSearch search;
    private final long started = System.nanoTime();
    private UniqueKillSwitch killSwitch;
    private boolean dirty;
    private String stopReason;
    private boolean closing;

    private SweepCoordinator(ActorContext<Command> ctx, TimerScheduler<Command> timers, SweepRun run) {
        super(ctx);
        this.run = run;
        this.spec = run.spec();
        this.timers = timers;
        this.folder = new SweepFolder(run.options().folder());
        this.sessionReports = ctx.messageAdapter(TrialResult.class, SessionEnded::new);
        this.search = BayesSearch.of(run);
        timers.startTimerWithFixedDelay(Timer.CHECK_FOLDER, Timer.CHECK_FOLDER, CHECK_FOLDER_EVERY);
    }

    private void runStream() {
        closing = true; // nothing but this stream serves the sweep
        Stages stages = new Stages(run, getContext().getSelf());
        // a proposal fits TPE and appends to search.jsonl: on the blocking dispatcher, not the stream's
        java.util.concurrent.Executor blocking = getContext().getSystem().dispatchers()
                .lookup(DispatcherSelector.blocking());
        Source<TrialSpec, NotUsed> trials = search == null ? Source.fromIterator(() -> spec.trials().iterator())
                : Source.unfoldAsync(0L, n -> CompletableFuture.supplyAsync(search::next, blocking)
                        .thenCompose(f -> f).thenApply(t -> t.map(x -> Pair.create(n + 1, x))));
        killSwitch = trials
                .viaMat(KillSwitches.single(), Keep.right())
                .via(stages.all(run.slots()))
                .toMat(Sink.ignore(), Keep.left())
                .run(getContext().getSystem());
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(RunTrial.class, this::onRunTrial)
                .onMessage(Kept.class, m -> {
                    record(m.result());
                    // a resumed sweep reads on, to keep every trial that ended; the stages start no new one
                    checkTarget(m.result(), false);
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
                .onMessage(StopTrial.class, m -> {
                    Running r = running.get(m.trialId());
                    if (r != null) {
                        r.session().tell(new TrialSession.StopByUser());
                    } else {
                        stopWhenStarted.add(m.trialId());
                    }
                    return this;
                })
                .onMessage(Close.class, m -> {
                    closing = true;
                    return maybeEnd();
                })
                .onMessage(FlowOpened.class, m -> {
                    openFlows.add(m.flow());
                    return this;
                })
                .onMessage(FlowClosed.class, m -> {
                    openFlows.remove(m.flow());
                    if (m.error() != null && !run.cancelled().get() && stopReason == null) {
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
                    if (run.lock() != null && !run.lock().present()) {
                        storageFault("the run folder is gone");
                    }
                    return this;
                })
                .onSignal(PostStop.class, s -> {
                    // stopped before its end (a bug, or the actor system going down): let nothing wait on it
                    if (killSwitch != null) {
                        killSwitch.abort(new IllegalStateException("the sweep's coordinator stopped"));
                    }
                    running.values().forEach(r -> r.done().completeExceptionally(
                            new IllegalStateException("the sweep's coordinator stopped")));
                    releaseFolder();
                    if (!run.report().isDone()) {
                        run.report().complete(currentReport());
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
        if (run.targetReached().get()) {
            // checked and announced ahead of the lanes before the target was reached: it ends unstarted, with no
            // folder and no row, and a resumed sweep does not start it either
            TrialResult r = TrialResult.of(m.spec()).status(TrialResult.Status.CANCELLED).attempts(0)
                    .failure(new Failure.Cancelled("metric.target was reached before it started")).build();
            run.hub().input().tell(new TrialEvent.Ended(r, false));
            if (search != null) {
                search.ended(r);
            }
            m.done().complete(r);
            return this;
        }
        ActorRef<TrialSession.Command> session = getContext().spawn(
                TrialSession.create(m.spec(), m.errors(), run.plan(), run.files().of(id), run.cancelled().get(),
                        sessionReports),
                "trial-" + id + "-" + m.spec().index(), DispatcherSelector.blocking());
        getContext().watchWith(session, new SessionDied(id));
        running.put(id, new Running(m.spec(), session, m.done()));
        if (stopWhenStarted.remove(id)) {
            session.tell(new TrialSession.StopByUser());
        }
        return this;
    }

    private Behavior<Command> onSessionEnded(SessionEnded m) {
        TrialResult r = m.result();
        Running session = running.remove(r.trialId());
        if (session == null) {
            return this;
        }
        record(r);
        checkTarget(r, true);
        session.done().complete(r);
        if (r.failure() instanceof Failure.Storage s && r.status() == TrialResult.Status.CANCELLED
                && !run.cancelled().get()) {
            storageFault(s.message());
        }
        return maybeEnd();
    }

    private Behavior<Command> onSessionDied(SessionDied m) {
        Running session = running.remove(m.trialId());
        if (session == null) {
            return this;
        }
        // the session stopped without reporting (a bug): the trial still gets its one result and event
        TrialResult r = TrialResult.of(session.spec()).status(TrialResult.Status.FAILED)
                .failure(new Failure.Internal("the trial's session stopped unexpectedly (see the log)")).build();
        try {
            run.files().of(m.trialId()).writeResult(r);
        } catch (RuntimeException e) {
            getContext().getLog().warn("trial {}: result.json not written: {}", m.trialId(), e.toString());
        }
        run.hub().input().tell(new TrialEvent.Ended(r, false));
        record(r);
        session.done().complete(r);
        return maybeEnd();
    }

    private void record(TrialResult r) {
        if (search != null) {
            search.ended(r);
        }
        results.put(r.trialId(), r);
        dirty = true;
        if (!timers.isTimerActive(Timer.FLUSH)) {
            timers.startSingleTimer(Timer.FLUSH, Timer.FLUSH, FLUSH_EVERY);
        }
    }

    /** W&B's metric.target: the first trial that reaches it ends the sweep; trials running then finish. */
    private void checkTarget(TrialResult r, boolean stopSource) {
        boolean measured = r.status() == TrialResult.Status.FINISHED || r.status() == TrialResult.Status.STOPPED;
        if (!measured || run.targetReached().get()) {
            return;
        }
        Optional<Double> v = r.metric(spec.metric().name());
        if (v.isPresent() && spec.metric().reaches(v.get())) {
            run.targetReached().set(true);
            getContext().getLog().info("sweep {}: trial {} reached the target {}; no new trial starts", spec.name(),
                    r.trialId(), spec.metric());
            if (stopSource && killSwitch != null) {
                killSwitch.shutdown();
            }
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
        if (run.lock() != null && !run.lock().present()) {
            // a write failed because the folder went away: say that, not which write noticed it first
            message = "the run folder " + folder.dir() + " was removed or moved while the sweep ran";
        }
        if (stopReason == null) {
            getContext().getLog().error("sweep {}: {}; stopping (resume once it is fixed)", spec.name(), message);
            stopReason = message;
        }
        cancel("the sweep stopped: " + message);
    }

    private void cancel(String reason) {
        boolean first = !run.cancelled().getAndSet(true);
        if (killSwitch != null) {
            killSwitch.shutdown();
        }
        if (first || !running.isEmpty()) {
            getContext().getLog().info("sweep {}: cancelling {} running trial(s)", spec.name(), running.size());
            running.values().forEach(r -> r.session().tell(new TrialSession.Cancel(reason)));
        }
    }

    private Behavior<Command> maybeEnd() {
        if (!closing || !openFlows.isEmpty() || !running.isEmpty()) {
            return this;
        }
        dirty = true;
        flush();
        // the folder is free and the events complete before anyone learns the sweep is over
        releaseFolder();
        killSwitch = null;
        run.report().complete(currentReport());
        return Behaviors.stopped();
    }

    private void releaseFolder() {
        if (run.lock() != null) {
            run.lock().close();
        }
        run.hub().complete();
    }

    private SweepReport currentReport() {
        return new SweepReport(spec.name(), spec.metric(), new ArrayList<>(results.values()),
                Duration.ofNanos(System.nanoTime() - started), run.cancelled().get(), stopReason);
    }
}
