package dev.lora4j.api;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.lora4j.actors.TrialFiles;
import dev.lora4j.actors.TrialFolder;
import dev.lora4j.config.Loaded;
import dev.lora4j.sweep.SweepSpec;
import java.nio.file.Path;
import java.util.concurrent.CompletionStage;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.ClassicActorSystemProvider;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * lora4j's entry point for JVM apps. It runs sweeps on an actor system of its own ({@link #create()}) or on the
 * app's ({@link #on(ClassicActorSystemProvider)}); all sweeps of one instance share its device lanes and its loaded
 * base models. A sweep is prepared first ({@link #sweep(SweepSpec, SweepOptions)}: nothing runs yet, so subscribers
 * can attach), then started; an app that runs its own stream asks for a {@link #pipeline(SweepSpec, SweepOptions)}.
 *
 * <pre>{@code
 * try (Lora4j lora4j = Lora4j.create()) {
 *     Sweep sweep = lora4j.sweep(Path.of("sweep.yaml"), SweepOptions.in(Path.of("runs/demo")));
 *     sweep.events().runForeach(System.out::println, lora4j.system());
 *     SweepReport report = sweep.start().report().toCompletableFuture().join();
 *     report.writeHtml(Path.of("runs/demo"));   // runs/demo/report.html, as the CLI writes it
 * }
 * }</pre>
 */
public final class Lora4j implements AutoCloseable {
    /** The actor system name of every lora4j node (a cluster's nodes must share it). */
    static final String SYSTEM = "lora4j";
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
    private final Set<Sweep> prepared = ConcurrentHashMap.newKeySet();
    private final Set<Pipeline> pipelines = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;
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

    /**
     * With an actor system of its own (named {@code lora4j}), terminated by {@link #close()}.
     *
     * @return a new instance
     */
    public static Lora4j create() {
        return create(EngineParts.engine());
    }

    static Lora4j create(EngineParts parts) {
        return new Lora4j(ActorSystem.create(Behaviors.empty(), SYSTEM), true, parts);
    }

    /**
     * A coordinator of a cluster, with an actor system of its own: it forms the cluster at
     * {@code options.host():options.port()}, where workers ({@link Lora4jWorker}) join and offer their lanes to its
     * sweeps. Its own devices train too unless a sweep's options say {@link SweepOptions#withLocalLanes(boolean)
     * otherwise}. {@link #close()} leaves the cluster, and the workers, seeing their coordinator leave, end.
     *
     * @param options where to bind, and TLS
     * @return a new instance
     */
    public static Lora4j coordinator(ClusterOptions options) {
        return coordinator(options, EngineParts.engine());
    }

    static Lora4j coordinator(ClusterOptions options, EngineParts parts) {
        return coordinator(options, parts, ConfigFactory.empty());
    }

    /** With {@code overrides} over the node's settings (tests turn on Pekko's serialize-messages check). */
    static Lora4j coordinator(ClusterOptions options, EngineParts parts, Config overrides) {
        return new Lora4j(ActorSystem.create(Behaviors.empty(), SYSTEM,
                overrides.withFallback(options.config("coordinator"))), true, parts);
    }

    /**
     * This node's address in its cluster.
     *
     * @return {@code host:port}, empty when lora4j runs on an actor system that is not a cluster's
     */
    public Optional<String> clusterAddress() {
        return workers.clustered() ? Optional.of(workers.node()) : Optional.empty();
    }

    /**
     * Worker nodes in the cluster now (members with the {@code worker} role that are up).
     *
     * @return how many; 0 when not clustered
     */
    public int workerNodes() {
        if (!workers.clustered()) {
            return 0;
        }
        int n = 0;
        for (Member m : Cluster.get(system).state()
                .getMembers()) {
            if (m.hasRole(Lora4jWorker.ROLE) && m.status() == MemberStatus.up()) {
                n++;
            }
        }
        return n;
    }

    /**
     * On an app's actor system, typed or classic (its configuration must include lora4j's reference.conf, as any
     * classpath configuration does). {@link #close()} stops lora4j's actors and the sweeps this instance started,
     * never the app's system.
     *
     * @param system the app's actor system
     * @return an instance that runs its sweeps there
     */
    public static Lora4j on(ClassicActorSystemProvider system) {
        return new Lora4j(Adapter.toTyped(system.classicSystem()), false, EngineParts.engine());
    }

    static Lora4j on(ActorSystem<?> system, EngineParts parts) {
        return new Lora4j(system, false, parts);
    }

    /**
     * The actor system the sweeps run on: materialize event streams here.
     *
     * @return the system
     */
    public ActorSystem<?> system() {
        return system;
    }

    /**
     * Serves the dashboard of a run folder from its files, read-only (nothing can be stopped from it): a finished
     * sweep, or one that another process runs (the page reads the folder again while that sweep holds its lock). It
     * runs until {@link Dashboard#stop()} or until this instance closes.
     *
     * @param runFolder a sweep's run folder
     * @param host the address to bind, {@code 127.0.0.1} to stay on this machine
     * @param port the port, 0 for any free one
     * @return the dashboard once it listens; fails if the port cannot be bound
     * @throws IllegalArgumentException if the folder holds no sweep ({@code sweep.yaml})
     */
    public CompletionStage<Dashboard> serve(Path runFolder, String host, int port) {
        if (!java.nio.file.Files.isRegularFile(runFolder.resolve(Sweep.SPEC_FILE))) {
            throw new IllegalArgumentException(runFolder + " is not a sweep's run folder (it has no "
                    + Sweep.SPEC_FILE + ")");
        }
        return dev.lora4j.dashboard.DashboardServer.start(system, new dev.lora4j.dashboard.FolderSweep(runFolder),
                host, port, Dashboard.LINGER).thenApply(Dashboard::new);
    }

    /**
     * Reads a sweep file and prepares it (see {@link #sweep(SweepSpec, SweepOptions)}).
     *
     * @param sweepFile a sweep file (YAML or JSON)
     * @param options where and how to run it
     * @return the sweep, not started
     * @throws dev.lora4j.config.ConfigException listing every problem of the file
     * @throws RunFolderBusyException if another sweep runs in the options' folder
     */
    public Sweep sweep(Path sweepFile, SweepOptions options) {
        Loaded<SweepSpec> spec = SweepSpec.read(sweepFile);
        return sweep(spec.value(), options);
    }

    /**
     * Prepares a sweep (built with {@link SweepBuilder} or read from a file) in {@code options.folder()}: the folder
     * is reserved for it (no other sweep, in this process or another, can use it until it ends or is discarded), and
     * nothing runs until {@link Sweep#start()}, so subscribers can attach first.
     *
     * @param spec what to run
     * @param options where and how to run it
     * @return the sweep, not started
     * @throws RunFolderBusyException if another sweep runs in that folder
     */
    public Sweep sweep(SweepSpec spec, SweepOptions options) {
        return sweep(spec, options, TrialFolder.in(options.folder()));
    }

    Sweep sweep(SweepSpec spec, SweepOptions options, TrialFiles.Factory files) {
        Sweep s = new Sweep(this, prepare(spec, options, files), "sweep-" + SWEEPS.incrementAndGet() + "-"
                + safe(spec.name()));
        prepared.add(s);
        return s;
    }

    /**
     * A sweep whose stream the app runs itself, through the returned pipeline's {@link Stages}: the spec supplies
     * devices, metric, retries and early termination (its trials are not run unless the app streams them), the
     * options the run folder, reserved until the pipeline closes.
     *
     * @param spec the sweep's base run and policies
     * @param options where and how to run it
     * @return the pipeline, ready for the app's streams
     * @throws RunFolderBusyException if another sweep runs in that folder
     */
    public Pipeline pipeline(SweepSpec spec, SweepOptions options) {
        SweepRun run = prepare(spec, options, TrialFolder.in(options.folder()));
        ActorRef<SweepCoordinator.Command> coordinator = spawn(SweepCoordinator.forStages(run),
                "pipeline-" + SWEEPS.incrementAndGet() + "-" + safe(spec.name()));
        Pipeline p = new Pipeline(run, coordinator);
        pipelines.add(p);
        run.report().whenComplete((r, e) -> pipelines.remove(p));
        return p;
    }

    private SweepRun prepare(SweepSpec spec, SweepOptions options, TrialFiles.Factory files) {
        if (closed) {
            throw new IllegalStateException("this Lora4j is closed");
        }
        RunLock lock = RunLock.acquire(options.folder());
        try {
            return SweepRun.of(spec, options, workers, hub(), files, lock);
        } catch (RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    ActorRef<SweepCoordinator.Command> spawn(org.apache.pekko.actor.typed.Behavior<SweepCoordinator.Command> b,
            String name) {
        return system.systemActorOf(b, name, COORDINATOR);
    }

    void started(Sweep sweep, SweepHandle handle) {
        prepared.remove(sweep);
        running.add(handle);
        handle.report().whenComplete((r, e) -> running.remove(handle));
    }

    void discarded(Sweep sweep) {
        prepared.remove(sweep);
    }

    private EventHub hub() {
        EventHub hub = EventHub.start(system, 256);
        hubs.add(hub);
        return hub;
    }

    private static String safe(String name) {
        return name.replaceAll("[^A-Za-z0-9_-]", "_");
    }

    /**
     * Cancels the sweeps and pipelines this instance started (each trial checkpoints at its next step; a resumed
     * sweep continues them), waits up to two minutes for each, discards sweeps never started, and stops lora4j's
     * actors. The actor system is terminated only if this instance created it ({@link #create()}); an app's own
     * system ({@link #on}) keeps running.
     */
    @Override
    public void close() {
        closed = true;
        prepared.forEach(Sweep::discard);
        for (Pipeline p : pipelines) {
            p.cancel();
            p.closeAsync();
        }
        List<java.util.concurrent.CompletableFuture<SweepReport>> ends = new java.util.ArrayList<>();
        running.forEach(h -> ends.add(h.cancel().toCompletableFuture()));
        pipelines.forEach(p -> ends.add(p.report().toCompletableFuture()));
        for (java.util.concurrent.CompletableFuture<SweepReport> end : ends) {
            try {
                end.get(CLOSE_WAIT.toSeconds(), TimeUnit.SECONDS);
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
