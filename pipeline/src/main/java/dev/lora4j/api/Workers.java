package dev.lora4j.api;

import dev.lora4j.actors.ConfigValidator;
import dev.lora4j.actors.DataLoader;
import dev.lora4j.actors.DevicePool;
import dev.lora4j.actors.ModelInjector;
import dev.lora4j.actors.TrialSession;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * The actors every sweep of one lora4j instance shares: the device pool with its lanes, the model injector (one base
 * per device for all sweeps), the data loader (one tokenisation per file) and the validator. Each is restarted when
 * it fails; a restart answers what was pending, and sessions watch them for good measure. Stopping this actor stops
 * them all.
 */
final class Workers {
    /** The shared actors. */
    record Refs(ActorSystem<?> system, ActorRef<DevicePool.Command> pool, ActorRef<ModelInjector.Command> injector,
            ActorRef<DataLoader.Command> data, ActorRef<ConfigValidator.Command> validator) {
        TrialSession.Services services() {
            return new TrialSession.Services(pool, injector, data);
        }
    }

    /** Stops the shared actors (sweeps using them should have ended). */
    enum Stop { INSTANCE }

    private Workers() {}

    static Behavior<Stop> create(EngineParts parts, Duration modelIdleRelease, CompletableFuture<Refs> ready) {
        return Behaviors.setup(ctx -> {
            var pool = ctx.spawn(Behaviors.supervise(DevicePool.create(parts.runs()))
                    .onFailure(SupervisorStrategy.restart()), "devices");
            var injector = ctx.spawn(Behaviors.supervise(ModelInjector.create(parts.loader(), parts.adapters(),
                    modelIdleRelease)).onFailure(SupervisorStrategy.restart()), "models");
            var data = ctx.spawn(Behaviors.supervise(DataLoader.create(parts.data().apply(ctx.getSystem())))
                    .onFailure(SupervisorStrategy.restart()), "data");
            var validator = ctx.spawn(Behaviors.supervise(ConfigValidator.create())
                    .onFailure(SupervisorStrategy.restart()), "validator");
            ready.complete(new Refs(ctx.getSystem(), pool, injector, data, validator));
            return Behaviors.receive(Stop.class).onMessageEquals(Stop.INSTANCE, Behaviors::stopped).build();
        });
    }
}
