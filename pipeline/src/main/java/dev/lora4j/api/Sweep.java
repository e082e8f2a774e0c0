package dev.lora4j.api;

import dev.lora4j.api.trial.TrialEvent;
import dev.lora4j.sweep.SweepSpec;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.stream.javadsl.Source;

/**
 * A sweep ready to run but not running: its run folder is reserved (no other sweep can use it), nothing trains yet.
 * Subscribe to {@link #events()} first, then {@link #start()} it: a subscription materialized before {@code start()}
 * sees every event of every trial. Created by {@link Lora4j#sweep(SweepSpec, SweepOptions)}.
 */
public final class Sweep {
    /** The file in a run folder that records the sweep as it was run ({@code sweep.yaml}). */
    public static final String SPEC_FILE = "sweep.yaml";

    private final Lora4j owner;
    private final SweepRun run;
    private final String actorName;
    private final AtomicBoolean used = new AtomicBoolean();

    Sweep(Lora4j owner, SweepRun run, String actorName) {
        this.owner = owner;
        this.run = run;
        this.actorName = actorName;
    }

    /**
     * The sweep's name.
     *
     * @return its spec's name
     */
    public String name() {
        return run.spec().name();
    }

    /**
     * The sweep's run folder.
     *
     * @return the folder
     */
    public Path folder() {
        return run.options().folder();
    }

    /**
     * What the sweep runs.
     *
     * @return its spec
     */
    public SweepSpec spec() {
        return run.spec();
    }

    /**
     * The sweep's events: any number of subscriptions, before or after the start, and none slows training (a slow one
     * misses progress events, never lifecycle events). One that attaches late first gets the state of every trial so
     * far. Each completes when the sweep ends.
     *
     * @return a new subscription
     */
    public Source<TrialEvent, NotUsed> events() {
        return run.hub().subscribe();
    }

    /**
     * Starts the sweep (once). Every trial the spec expands to runs, lazily, as lanes free up.
     *
     * @return the running sweep
     * @throws IllegalStateException if it was started or discarded already
     */
    public SweepHandle start() {
        if (!used.compareAndSet(false, true)) {
            throw new IllegalStateException("sweep " + name() + " was started or discarded already");
        }
        ActorRef<SweepCoordinator.Command> coordinator = owner.spawn(SweepCoordinator.ownStream(run), actorName);
        SweepHandle h = new SweepHandle(name(), folder(), run.hub(), run.report(), coordinator, run.cancelled(),
                owner.system(), spec());
        owner.started(this, h);
        return h;
    }

    /** Gives the run folder back without running anything (a no-op after {@link #start()}). */
    public void discard() {
        if (used.compareAndSet(false, true)) {
            run.lock().close();
            run.hub().complete();
            owner.discarded(this);
        }
    }

    boolean started() {
        return used.get();
    }
}
