package dev.lora4j.pipeline;

import dev.lora4j.actors.TrialEvent;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.stream.javadsl.Source;

/**
 * A sweep whose stream the app runs itself: {@link #stages()} are the pipeline's {@code Flow}s, bound to this sweep's
 * run folder and its sessions, and {@link #events()} their event stream. {@link #close()} cancels whatever still runs
 * and ends the sweep (releasing its run folder); {@link #report()} completes when it has.
 */
public final class ComposablePipeline implements AutoCloseable {
    private final Stages stages;
    private final EventHub hub;
    private final ActorRef<SweepCoordinator.Command> coordinator;
    private final CompletionStage<SweepReport> report;

    ComposablePipeline(Stages stages, EventHub hub, ActorRef<SweepCoordinator.Command> coordinator,
            CompletionStage<SweepReport> report) {
        this.stages = stages;
        this.hub = hub;
        this.coordinator = coordinator;
        this.report = report;
    }

    public Stages stages() {
        return stages;
    }

    /** Trials the sweep's devices train at once, the natural parallelism for the stages. */
    public int slots() {
        return stages.slots();
    }

    public Source<TrialEvent, NotUsed> events() {
        return hub.subscribe();
    }

    /** The leaderboard of every trial the stages ran, once the pipeline is closed and they have all ended. */
    public CompletionStage<SweepReport> report() {
        return report;
    }

    @Override
    public void close() {
        coordinator.tell(new SweepCoordinator.Stop());
    }
}
