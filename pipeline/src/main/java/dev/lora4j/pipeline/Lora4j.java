package dev.lora4j.pipeline;

import dev.lora4j.actors.TrialFiles;
import dev.lora4j.actors.TrialFolder;
import dev.lora4j.config.Loaded;
import dev.lora4j.sweep.SweepSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * lora4j's entry point for JVM apps: runs sweeps on an actor system it owns ({@link #create()}) or on the app's own
 * ({@link #on(ActorSystem)}), and hands back a {@link SweepHandle} with the event stream and the report. All sweeps
 * of one instance share its device lanes and its loaded base models. {@link #close()} cancels the sweeps still
 * running, waits for them to checkpoint, and stops lora4j's actors (and the actor system, if it owns it).
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
    private static final AtomicInteger INSTANCES = new AtomicInteger();
    private static final AtomicInteger SWEEPS = new AtomicInteger();
    /** The coordinator reads and writes the run folder (leaderboard, failed sessions' results): blocking work. */
    private static final Props COORDINATOR = DispatcherSelector.blocking();
    private static final Duration CLOSE_WAIT = Duration.ofMinutes(2);

    private final ActorSystem<?> system;
    private final boolean owned;
    private final ActorRef<Workers.Stop> guardian;
    private final Workers.Refs workers;
    private final Set<SweepHandle> running = ConcurrentHashMap.newKeySet();
    /** The event hubs of this instance's sweeps: late subscribers still get a finished sweep's final state. */
    private final List<EventHub> hubs = new CopyOnWriteArrayList<>();

    private Lora4j(ActorSystem<?> system, boolean owned, EngineParts parts) {
        this.system = system;
        this.owned = owned;
        Duration idle = system.settings().config().getDuration("lora4j.model-idle-release");
        CompletableFuture<Workers.Refs> ready = new CompletableFuture<>();
        this.guardian = system.systemActorOf(Workers.create(parts, idle, ready),
                "lora4j-" + INSTANCES.incrementAndGet(), Props.empty());
        try {
            this.workers = ready.get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting lora4j's actors", e);
        } catch (java.util.concurrent.ExecutionException | TimeoutException e) {
            throw new IllegalStateException("lora4j's actors did not start: " + e, e);
        }
    }

    /** With an actor system of its own, terminated by {@link #close()}. */
    public static Lora4j create() {
        return create(EngineParts.engine());
    }

    static Lora4j create(EngineParts parts) {
        return new Lora4j(ActorSystem.create(Behaviors.empty(), "lora4j"), true, parts);
    }

    /**
     * On an app's actor system (which must include lora4j's reference.conf, as any classpath config does).
     * {@link #close()} stops lora4j's actors and sweeps, never the app's system.
     */
    public static Lora4j on(ActorSystem<?> system) {
        return new Lora4j(system, false, EngineParts.engine());
    }

    static Lora4j on(ActorSystem<?> system, EngineParts parts) {
        return new Lora4j(system, false, parts);
    }

    public ActorSystem<?> system() {
        return system;
    }

    /** Reads a sweep file and starts it. */
    public SweepHandle sweep(Path sweepFile, SweepOptions options) {
        Loaded<SweepSpec> spec = SweepSpec.read(sweepFile);
        return sweep(spec.value(), options);
    }

    /**
     * Starts a sweep (built in Java with {@link SweepBuilder} or read from a file) in {@code options.folder()}.
     * Throws {@link RunFolderBusyException} if another sweep, in this process or another, runs in that folder.
     */
    public SweepHandle sweep(SweepSpec spec, SweepOptions options) {
        return sweep(spec, options, TrialFolder.in(options.folder()));
    }

    SweepHandle sweep(SweepSpec spec, SweepOptions options, TrialFiles.Factory files) {
        RunLock lock = RunLock.acquire(options.folder());
        EventHub hub = hub();
        CompletableFuture<SweepReport> report = new CompletableFuture<>();
        AtomicBoolean cancelled = new AtomicBoolean();
        ActorRef<SweepCoordinator.Command> coordinator;
        try {
            coordinator = system.systemActorOf(SweepCoordinator.create(new SweepCoordinator.Setup(spec, options,
                    workers, hub, files, lock, cancelled, report)), "sweep-" + SWEEPS.incrementAndGet() + "-"
                    + safe(spec.name()), COORDINATOR);
        } catch (RuntimeException e) {
            lock.close();
            throw e;
        }
        SweepHandle h = new SweepHandle(spec.name(), options.folder(), hub, report, coordinator, cancelled);
        running.add(h);
        report.whenComplete((r, e) -> running.remove(h));
        return h;
    }

    /**
     * A sweep whose stream the app runs itself, from {@link Stages}: the spec supplies devices, metric, retries and
     * early termination, the options the run folder (locked until the pipeline is closed).
     */
    public ComposablePipeline actors(SweepSpec spec, SweepOptions options) {
        RunLock lock = RunLock.acquire(options.folder());
        EventHub hub = hub();
        CompletableFuture<SweepReport> report = new CompletableFuture<>();
        CompletableFuture<Stages> stages = new CompletableFuture<>();
        ActorRef<SweepCoordinator.Command> coordinator = system.systemActorOf(
                SweepCoordinator.forStages(new SweepCoordinator.Setup(spec, options, workers, hub,
                        TrialFolder.in(options.folder()), lock, new AtomicBoolean(), report), stages),
                "pipeline-" + SWEEPS.incrementAndGet() + "-" + safe(spec.name()), COORDINATOR);
        try {
            return new ComposablePipeline(stages.get(30, TimeUnit.SECONDS), hub, coordinator, report);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting the pipeline", e);
        } catch (java.util.concurrent.ExecutionException | TimeoutException e) {
            throw new IllegalStateException("the pipeline did not start: " + e, e);
        }
    }

    private EventHub hub() {
        EventHub hub = EventHub.start(system, 256);
        hubs.add(hub);
        return hub;
    }

    private static String safe(String name) {
        return name.replaceAll("[^A-Za-z0-9_-]", "_");
    }

    @Override
    public void close() {
        for (SweepHandle h : running) {
            try {
                h.cancel().toCompletableFuture().get(CLOSE_WAIT.toSeconds(), TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (java.util.concurrent.ExecutionException | TimeoutException e) {
                // the sweep could not stop in time; its trials resume from their last checkpoints
            }
        }
        guardian.tell(Workers.Stop.INSTANCE);
        hubs.forEach(EventHub::stop);
        if (owned) {
            system.terminate();
            system.getWhenTerminated().toCompletableFuture().join();
        }
    }
}
