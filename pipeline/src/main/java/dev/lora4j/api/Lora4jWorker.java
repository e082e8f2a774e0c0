package dev.lora4j.api;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.lora4j.actors.DevicePool;
import dev.lora4j.actors.LaneHost;
import dev.lora4j.actors.NodeFiles;
import dev.lora4j.run.Resources;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

/**
 * A worker node: it joins a coordinator's cluster and offers its device lanes to every sweep the coordinator runs
 * (the coordinator's pool finds them through the cluster's receptionist). Trials trained here get their base model
 * from this node's model folders (the same path as on the coordinator, or a {@code builtin:} model), their data
 * files from the coordinator (fetched once into {@link WorkerOptions#workDir()}), and send every step, checkpoint and
 * adapter back to the coordinator's run folder.
 *
 * <p>{@link #exit()} tells how the worker's membership ended: the coordinator left (its sweep ended: the worker is
 * done) or was lost (it crashed or the network cut it off: the worker's actor system is gone, and a new worker can
 * join the coordinator once it is back, e.g. after {@code sweep --resume}).
 */
public final class Lora4jWorker implements AutoCloseable {
    /** The cluster role of worker nodes. */
    static final String ROLE = "worker";

    /** How a worker's membership ended. */
    public enum Exit {
        /** The coordinator left the cluster on purpose (its sweep ended). */
        COORDINATOR_LEFT,
        /** The coordinator was lost (crashed, or unreachable and downed), or this worker was downed. */
        COORDINATOR_LOST,
        /** {@link #close()} was called. */
        CLOSED
    }

    private final ActorSystem<?> system;
    private final CompletableFuture<Exit> exit = new CompletableFuture<>();
    private final CompletableFuture<String> joined = new CompletableFuture<>();

    private Lora4jWorker(ActorSystem<?> system) {
        this.system = system;
    }

    /**
     * Starts a worker with an actor system of its own and joins the coordinator at
     * {@code options.joinHost():options.joinPort()} (retrying until it is there).
     *
     * @param cluster where to bind, whom to join, and TLS
     * @param options the devices to offer and the scratch folder
     * @return the worker, joining
     */
    public static Lora4jWorker join(ClusterOptions cluster, WorkerOptions options) {
        return join(cluster, options, EngineParts.engine());
    }

    static Lora4jWorker join(ClusterOptions cluster, WorkerOptions options, EngineParts parts) {
        return join(cluster, options, parts, ConfigFactory.empty());
    }

    /** With {@code overrides} over the node's settings (tests turn on Pekko's serialize-messages check). */
    static Lora4jWorker join(ClusterOptions cluster, WorkerOptions options, EngineParts parts, Config overrides) {
        List<DevicePool.DeviceLayout> lanes = Devices.layout(new Resources(options.devices(), 1, null),
                options.cpuLanes(), options.cpuThreadsPerLane(), Runtime.getRuntime().availableProcessors());
        ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), Lora4j.SYSTEM,
                overrides.withFallback(cluster.config(ROLE)));
        Lora4jWorker w = new Lora4jWorker(system);
        String coordinator = new ClusterOptions.HostPort(cluster.joinHost(), cluster.joinPort()).toString();
        try {
            Duration idle = system.settings().config().getDuration("lora4j.model-idle-release");
            CompletableFuture<ActorRef<LaneHost.Command>> ready = new CompletableFuture<>();
            system.systemActorOf(Workers.worker(parts, idle, lanes, new NodeFiles(options.workDir()), ready),
                    "lora4j-worker", Props.empty());
            ready.get(30, TimeUnit.SECONDS);
            system.systemActorOf(w.watcher(coordinator), "lora4j-membership", Props.empty());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            system.terminate();
            throw new IllegalStateException("interrupted while starting the worker", e);
        } catch (ExecutionException | TimeoutException e) {
            system.terminate();
            throw new IllegalStateException("the worker's actors did not start: " + e, e);
        }
        system.getWhenTerminated().whenComplete((d, e) -> w.exit.complete(Exit.COORDINATOR_LOST));
        return w;
    }

    /** Follows the cluster's membership: this node up, the coordinator leaving or lost. */
    private Behavior<ClusterEvent.MemberEvent> watcher(String coordinator) {
        return Behaviors.setup(ctx -> {
            Cluster.get(ctx.getSystem()).subscriptions().tell(Subscribe.create(ctx.getSelf(),
                    ClusterEvent.MemberEvent.class));
            return Behaviors.receive(ClusterEvent.MemberEvent.class).onAnyMessage(e -> {
                Member m = e.member();
                if (e instanceof ClusterEvent.MemberUp && m.equals(Cluster.get(ctx.getSystem()).selfMember())) {
                    joined.complete(Workers.nodeName(ctx.getSystem()));
                } else if (m.hasRole("coordinator")) {
                    if (e instanceof ClusterEvent.MemberLeft || e instanceof ClusterEvent.MemberExited) {
                        ctx.getLog().info("the coordinator {} is leaving: its sweep ended", coordinator);
                        end(Exit.COORDINATOR_LEFT);
                    } else if (e instanceof ClusterEvent.MemberRemoved r) {
                        end(r.previousStatus() == MemberStatus.exiting() || r.previousStatus() == MemberStatus.leaving()
                                ? Exit.COORDINATOR_LEFT : Exit.COORDINATOR_LOST);
                    }
                }
                return Behaviors.same();
            }).build();
        });
    }

    private void end(Exit how) {
        if (exit.complete(how)) {
            system.terminate();
        }
    }

    /**
     * This worker's address.
     *
     * @return {@code host:port}
     */
    public String address() {
        return Workers.nodeName(system);
    }

    /**
     * Completes once this worker is a member of the coordinator's cluster.
     *
     * @return this worker's address, once up
     */
    public CompletionStage<String> joined() {
        return joined;
    }

    /**
     * Completes when the worker's membership ended; its actor system is then terminating.
     *
     * @return how it ended
     */
    public CompletionStage<Exit> exit() {
        return exit;
    }

    /** Leaves the cluster (its trials retry elsewhere from their last checkpoints) and stops the worker. */
    @Override
    public void close() {
        end(Exit.CLOSED);
        system.getWhenTerminated().toCompletableFuture().join();
    }
}
