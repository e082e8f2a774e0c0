package dev.lora4j.pipeline;

import dev.lora4j.actors.TrialEvent;
import java.nio.file.Path;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.stream.javadsl.Source;

/** A running sweep: its events, its final report, and the means to stop it. */
public final class SweepHandle {
    private final String name;
    private final Path folder;
    private final EventHub hub;
    private final CompletionStage<SweepReport> report;
    private final ActorRef<SweepCoordinator.Command> coordinator;

    SweepHandle(String name, Path folder, EventHub hub, CompletionStage<SweepReport> report,
            ActorRef<SweepCoordinator.Command> coordinator) {
        this.name = name;
        this.folder = folder;
        this.hub = hub;
        this.report = report;
        this.coordinator = coordinator;
    }

    public String name() {
        return name;
    }

    /** The sweep's run folder. */
    public Path folder() {
        return folder;
    }

    /**
     * A new subscription to the sweep's events from now on; any number may run, and none slows training (a slow one
     * misses progress events, never lifecycle events). Completes when the sweep ends.
     */
    public Source<TrialEvent, NotUsed> events() {
        return hub.subscribe();
    }

    /** Completes with the leaderboard when every trial has ended. */
    public CompletionStage<SweepReport> report() {
        return report;
    }

    /** Stops every trial at its next step boundary after a checkpoint; the report then lists them as cancelled. */
    public void cancel() {
        coordinator.tell(new SweepCoordinator.Cancel(false));
    }

    /** As {@link #cancel()}, and also aborts the pipeline without waiting for running trials. */
    public void cancelNow() {
        coordinator.tell(new SweepCoordinator.Cancel(true));
    }
}
