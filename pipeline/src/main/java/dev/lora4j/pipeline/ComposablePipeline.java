package dev.lora4j.pipeline;

import dev.lora4j.actors.TrialEvent;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.stream.javadsl.Source;

/**
 * A sweep's actors for an app's own stream: {@link #stages()} are the pipeline's {@code Flow}s over them, and
 * {@link #events()} their event stream. {@link #close()} stops the actors.
 */
public final class ComposablePipeline implements AutoCloseable {
    private final SweepContext context;
    private final EventHub hub;
    private final ActorRef<SweepCoordinator.Command> host;

    ComposablePipeline(SweepContext context, EventHub hub, ActorRef<SweepCoordinator.Command> host) {
        this.context = context;
        this.hub = hub;
        this.host = host;
    }

    public SweepContext context() {
        return context;
    }

    public Stages stages() {
        return new Stages(context);
    }

    /** Device slots of the layout, the natural parallelism for the stages. */
    public int slots() {
        return context.slots();
    }

    public Source<TrialEvent, NotUsed> events() {
        return hub.subscribe();
    }

    @Override
    public void close() {
        host.tell(new SweepCoordinator.Stop());
    }
}
