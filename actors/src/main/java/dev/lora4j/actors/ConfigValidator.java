package dev.lora4j.actors;

import dev.lora4j.config.ConfigError;
import dev.lora4j.config.LoraConfigValidator;
import dev.lora4j.config.Validation;
import dev.lora4j.sweep.TrialSpec;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Checks a trial before any device time is spent on it: the rules of its config combination (the expansion already
 * checked each parameter), the LoRA config as a whole, the training config, and that its files exist.
 */
public final class ConfigValidator {

    /** The coordinator's own: trials are checked where the sweep runs. */
    public sealed interface Command extends LocalOnly {}

    public record Validate(TrialSpec spec, ActorRef<Verdict> replyTo) implements Command {}

    public sealed interface Verdict extends LocalOnly {
        TrialSpec spec();
    }

    public record Valid(TrialSpec spec, List<String> warnings) implements Verdict {}

    public record Rejected(TrialSpec spec, List<ConfigError> errors) implements Verdict {}

    private ConfigValidator() {}

    public static Behavior<Command> create() {
        return Behaviors.receive(Command.class)
                .onMessage(Validate.class, m -> {
                    m.replyTo().tell(check(m.spec()));
                    return Behaviors.same();
                })
                .build();
    }

    /** The verdict on one trial (pure; also used without an actor). */
    public static Verdict check(TrialSpec spec) {
        Validation v = spec.validation()
                .and(LoraConfigValidator.validate(spec.lora(), "lora"))
                .and(spec.training().validate("training"));
        List<ConfigError> errors = new ArrayList<>(v.errors());
        if (!Files.isRegularFile(spec.data().train())) {
            errors.add(new ConfigError("data.train", "file not found: " + spec.data().train()));
        }
        spec.data().eval().filter(p -> !Files.isRegularFile(p))
                .ifPresent(p -> errors.add(new ConfigError("data.eval", "file not found: " + p)));
        if (!spec.model().isBuiltin() && !Files.isDirectory(spec.model().path())) {
            errors.add(new ConfigError("model", "folder not found: " + spec.model().path()));
        }
        return errors.isEmpty() ? new Valid(spec, v.warnings()) : new Rejected(spec, errors);
    }
}
