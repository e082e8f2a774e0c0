package dev.lora4j.pipeline;

import dev.lora4j.actors.Checkpointer;
import dev.lora4j.actors.ConfigValidator;
import dev.lora4j.actors.DevicePool;
import dev.lora4j.actors.ModelInjector;
import dev.lora4j.actors.Trainer;
import dev.lora4j.actors.TrialEvent;
import dev.lora4j.sweep.Metric;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * The actors one sweep runs on and the few facts every stage needs. Built by the {@link SweepCoordinator}, or by an
 * app that composes its own pipeline from {@link Stages}.
 *
 * @param trainers one trainer per device lane, by {@link dev.lora4j.actors.DeviceSlot#trainerName()}
 * @param slots device slots (lanes x trials per lane): the parallelism the stages should use
 * @param maxRetries retries of a failed trial (out-of-memory back-offs come on top, while micro-batches can halve)
 */
public record SweepContext(ActorSystem<?> system, ActorRef<ConfigValidator.Command> validator,
        ActorRef<DevicePool.Command> pool, ActorRef<ModelInjector.Command> injector,
        ActorRef<Checkpointer.Command> checkpointer, Map<String, ActorRef<Trainer.Command>> trainers,
        DataOpener data, ActorRef<TrialEvent> events, SweepFolder folder, Metric metric, int maxRetries,
        int keepCheckpoints, boolean resume, AtomicBoolean cancelled, int slots) {

    /** Asks that complete in milliseconds (validation, status). */
    static final Duration SHORT = Duration.ofSeconds(30);
    /** Asks that wait for a device or a whole training run (Pekko's scheduler allows about 248 days). */
    static final Duration LONG = Duration.ofDays(200);
}
