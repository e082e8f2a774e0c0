package dev.lora4j.api;

import dev.lora4j.api.trial.TrialEvent;
import dev.lora4j.dashboard.DashboardServer;
import dev.lora4j.dashboard.LiveSweep;
import dev.lora4j.sweep.SweepSpec;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.stream.javadsl.Source;

/** A running sweep: its events, its final report, and the means to stop it or one of its trials. */
public final class SweepHandle {
    private final String name;
    private final Path folder;
    private final EventHub hub;
    private final CompletionStage<SweepReport> report;
    private final ActorRef<SweepCoordinator.Command> coordinator;
    private final AtomicBoolean cancelled;
    private final ActorSystem<?> system;
    private final SweepSpec spec;

    SweepHandle(String name, Path folder, EventHub hub, CompletionStage<SweepReport> report,
            ActorRef<SweepCoordinator.Command> coordinator, AtomicBoolean cancelled, ActorSystem<?> system,
            SweepSpec spec) {
        this.system = system;
        this.spec = spec;
        this.name = name;
        this.folder = folder;
        this.hub = hub;
        this.report = report;
        this.coordinator = coordinator;
        this.cancelled = cancelled;
    }

    /**
     * The sweep's name.
     *
     * @return its spec's name
     */
    public String name() {
        return name;
    }

    /**
     * The sweep's run folder.
     *
     * @return the folder
     */
    public Path folder() {
        return folder;
    }

    /**
     * A new subscription to the sweep's events: the state of every trial so far, then every event from there on (see
     * {@link Sweep#events()}). Completes when the sweep ends.
     *
     * @return a new subscription
     */
    public Source<TrialEvent, NotUsed> events() {
        return hub.subscribe();
    }

    /**
     * The sweep's outcome.
     *
     * @return the leaderboard, completed when every trial has ended
     */
    public CompletionStage<SweepReport> report() {
        return report;
    }

    /**
     * Stops the sweep: no trial starts from now on (the flag is set before this returns), and every running trial
     * stops at its next step boundary after a checkpoint. Returns the report, which lists them as cancelled; a
     * resumed sweep continues them exactly.
     *
     * @return the sweep's report, completed once every trial has stopped
     */
    public CompletionStage<SweepReport> cancel() {
        cancelled.set(true);
        coordinator.tell(new SweepCoordinator.Cancel("sweep cancelled"));
        return report;
    }

    /**
     * Whether the sweep was asked to stop ({@link #cancel()}, the dashboard's stop): no trial starts any more.
     *
     * @return true once cancelled
     */
    public boolean isCancelled() {
        return cancelled.get();
    }

    /**
     * Stops one trial as {@link #cancel()} stops them all (it ends as cancelled and resumes with the sweep); the sweep
     * goes on. Unknown or ended trials are ignored.
     *
     * @param trialId the trial's id
     */
    public void cancel(String trialId) {
        coordinator.tell(new SweepCoordinator.CancelTrial(trialId, "trial cancelled"));
    }

    /**
     * Stops one trial for good, as a user does from the dashboard: at its next step boundary after a checkpoint, it
     * ends as {@code stopped} with the reason {@code stopped by the user}, and a resumed sweep keeps it as it is (a
     * trial stopped before it trained keeps no checkpoint). The sweep goes on. Unknown or ended trials are ignored.
     *
     * @param trialId the trial's id
     */
    public void stop(String trialId) {
        coordinator.tell(new SweepCoordinator.StopTrial(trialId));
    }

    /**
     * Serves the sweep's live dashboard (the page and its API) on {@code host:port}; it stops a few seconds after the
     * sweep ends. Every request needs the run's token, which {@link Dashboard#url()} carries: print that once.
     *
     * @param host the address to bind, {@code 127.0.0.1} to stay on this machine
     * @param port the port, 0 for any free one
     * @return the dashboard once it listens; fails if the port cannot be bound
     */
    public CompletionStage<Dashboard> serve(String host, int port) {
        return DashboardServer.start(system, new Live(), host, port, Dashboard.LINGER).thenApply(Dashboard::new);
    }

    /** The running sweep as the dashboard sees it. */
    private final class Live implements LiveSweep {
        @Override
        public Path folder() {
            return folder;
        }

        @Override
        public Source<TrialEvent, NotUsed> events() {
            return hub.subscribe();
        }

        @Override
        public CompletionStage<SweepReport> ended() {
            return report;
        }

        @Override
        public Optional<SweepReport> finalReport() {
            CompletableFuture<SweepReport> f = report.toCompletableFuture();
            return f.isDone() && !f.isCompletedExceptionally() ? Optional.of(f.join()) : Optional.empty();
        }

        @Override
        public Optional<SweepSpec> spec() {
            return Optional.of(spec);
        }

        @Override
        public boolean readOnly() {
            return false;
        }

        @Override
        public void stop(String trialId) {
            SweepHandle.this.stop(trialId);
        }

        @Override
        public void cancel() {
            SweepHandle.this.cancel();
        }
    }
}
