package dev.lora4j.api;

import dev.lora4j.actors.ConfigValidator;
import dev.lora4j.actors.DataLoader;
import dev.lora4j.actors.DevicePool;
import dev.lora4j.actors.LaneHost;
import dev.lora4j.actors.ModelInjector;
import dev.lora4j.actors.NodeFiles;
import dev.lora4j.actors.TrialSession;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * The actors every sweep of one lora4j instance shares: this node's lanes (its {@link LaneHost}), the model injector
 * (one base per device for all sweeps), the data loader (one tokenisation per file), the device pool that leases
 * this node's lanes and, in a cluster, every worker's, and the validator. A worker node runs the same lane host,
 * injector and loader, registered for coordinators to find, and no pool. Each is restarted when it fails; a restart
 * answers what was pending, and sessions watch them for good measure. Stopping this actor stops them all.
 */
final class Workers {
    /** The shared actors. */
    record Refs(ActorSystem<?> system, ActorRef<DevicePool.Command> pool, ActorRef<ModelInjector.Command> injector,
            ActorRef<DataLoader.Command> data, ActorRef<ConfigValidator.Command> validator,
            ActorRef<LaneHost.Command> host, String node, boolean clustered) {
        TrialSession.Services services() {
            return new TrialSession.Services(pool);
        }
    }

    /** Stops the shared actors (sweeps using them should have ended). */
    enum Stop { INSTANCE }

    private Workers() {}

    /** A coordinator's (or a single machine's) actors. */
    static Behavior<Stop> create(EngineParts parts, Duration modelIdleRelease, CompletableFuture<Refs> ready) {
        return Behaviors.setup(ctx -> {
            String node = nodeName(ctx.getSystem());
            Path scratch = Path.of(System.getProperty("java.io.tmpdir"), "lora4j-node-" + ProcessHandle.current().pid());
            var host = spawnNode(ctx, parts, modelIdleRelease, node, new NodeFiles(scratch), List.of(), false);
            var pool = ctx.spawn(Behaviors.supervise(DevicePool.create(host.host()))
                    .onFailure(SupervisorStrategy.restart()), "devices");
            var validator = ctx.spawn(Behaviors.supervise(ConfigValidator.create())
                    .onFailure(SupervisorStrategy.restart()), "validator");
            ready.complete(new Refs(ctx.getSystem(), pool, host.injector(), host.data(), validator, host.host(), node,
                    !node.equals("local")));
            return Behaviors.receive(Stop.class).onMessageEquals(Stop.INSTANCE, Behaviors::stopped).build();
        });
    }

    /** A worker's actors: its lanes, offered to the cluster, with the injector and loader they use. */
    static Behavior<Stop> worker(EngineParts parts, Duration modelIdleRelease, List<DevicePool.DeviceLayout> lanes,
            NodeFiles files, CompletableFuture<ActorRef<LaneHost.Command>> ready) {
        return Behaviors.setup(ctx -> {
            var node = spawnNode(ctx, parts, modelIdleRelease, nodeName(ctx.getSystem()), files, lanes, true);
            ready.complete(node.host());
            return Behaviors.receive(Stop.class).onMessageEquals(Stop.INSTANCE, Behaviors::stopped).build();
        });
    }

    private record Node(ActorRef<LaneHost.Command> host, ActorRef<ModelInjector.Command> injector,
            ActorRef<DataLoader.Command> data) {}

    private static Node spawnNode(ActorContext<Stop> ctx, EngineParts parts, Duration modelIdleRelease, String name,
            NodeFiles files, List<DevicePool.DeviceLayout> lanes, boolean register) {
        var injector = ctx.spawn(Behaviors.supervise(ModelInjector.create(parts.loader(), parts.adapters(),
                modelIdleRelease)).onFailure(SupervisorStrategy.restart()), "models");
        var data = ctx.spawn(Behaviors.supervise(DataLoader.create(parts.data().apply(ctx.getSystem())))
                .onFailure(SupervisorStrategy.restart()), "data");
        var host = ctx.spawn(Behaviors.supervise(LaneHost.create(new LaneHost.Node(name, injector, data, files),
                parts.runs(), lanes, register)).onFailure(SupervisorStrategy.restart()), "lanes");
        return new Node(host, injector, data);
    }

    /** {@code host:port} of a node in a cluster, {@code local} for an actor system that is not one. */
    static String nodeName(ActorSystem<?> system) {
        var a = system.address();
        return a.getHost().isPresent() ? a.getHost().get() + ":" + a.getPort().orElse(0) : "local";
    }
}
