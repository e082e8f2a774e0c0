package dev.lora4j.pipeline;

import dev.lora4j.config.Loaded;
import dev.lora4j.sweep.SweepSpec;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * lora4j's entry point for JVM apps: runs sweeps on an actor system it owns ({@link #create()}) or on the app's own
 * ({@link #on(ActorSystem)}), and hands back a {@link SweepHandle} with the event stream and the report.
 *
 * <pre>{@code
 * try (Lora4j lora4j = Lora4j.create()) {
 *     SweepHandle sweep = lora4j.sweep(Path.of("sweep.yaml"), SweepOptions.in(Path.of("runs/demo")));
 *     sweep.events().runForeach(System.out::println, lora4j.system());
 *     SweepReport report = sweep.report().toCompletableFuture().join();
 *     HtmlReport.write(Path.of("runs/demo"), report);   // runs/demo/report.html, as the CLI writes it
 * }
 * }</pre>
 */
public final class Lora4j implements AutoCloseable {
    private static final AtomicInteger SWEEPS = new AtomicInteger();
    /** The coordinator reads and writes the run folder (resume state, leaderboard): blocking work, its own pool. */
    private static final Props COORDINATOR = DispatcherSelector.blocking();

    private final ActorSystem<?> system;
    private final boolean owned;

    private Lora4j(ActorSystem<?> system, boolean owned) {
        this.system = system;
        this.owned = owned;
    }

    /** With an actor system of its own, terminated by {@link #close()}. */
    public static Lora4j create() {
        return new Lora4j(ActorSystem.create(Behaviors.empty(), "lora4j"), true);
    }

    /** On an app's actor system (which must include lora4j's reference.conf, as any classpath config does). */
    public static Lora4j on(ActorSystem<?> system) {
        return new Lora4j(system, false);
    }

    public ActorSystem<?> system() {
        return system;
    }

    /** Reads a sweep file and starts it. */
    public SweepHandle sweep(Path sweepFile, SweepOptions options) {
        Loaded<SweepSpec> spec = SweepSpec.read(sweepFile);
        return sweep(spec.value(), options);
    }

    /** Starts a sweep (built in Java with {@link SweepBuilder} or read from a file). */
    public SweepHandle sweep(SweepSpec spec, SweepOptions options) {
        EventHub hub = EventHub.start(system, 256);
        CompletableFuture<SweepReport> report = new CompletableFuture<>();
        ActorRef<SweepCoordinator.Command> coordinator = system.systemActorOf(
                SweepCoordinator.create(spec, options, null, hub, report),
                "sweep-" + SWEEPS.incrementAndGet() + "-" + safe(spec.name()), COORDINATOR);
        return new SweepHandle(spec.name(), options.folder(), hub, report, coordinator);
    }

    /**
     * The actors a sweep runs on (device pool, model injector, data loader, trainers, checkpointer), for an app that
     * composes its own pipeline from {@link Stages}; the spec supplies devices, metric and retry policy. Close the
     * returned pipeline to stop the actors.
     */
    public ComposablePipeline actors(SweepSpec spec, SweepOptions options) {
        EventHub hub = EventHub.start(system, 256);
        CompletableFuture<SweepContext> ready = new CompletableFuture<>();
        ActorRef<SweepCoordinator.Command> host = system.systemActorOf(
                SweepCoordinator.actorsOnly(spec, options, hub, ready),
                "actors-" + SWEEPS.incrementAndGet() + "-" + safe(spec.name()), COORDINATOR);
        return new ComposablePipeline(ready.join(), hub, host);
    }

    private static String safe(String name) {
        return name.replaceAll("[^A-Za-z0-9_-]", "_");
    }

    @Override
    public void close() {
        if (owned) {
            system.terminate();
            system.getWhenTerminated().toCompletableFuture().join();
        }
    }
}
