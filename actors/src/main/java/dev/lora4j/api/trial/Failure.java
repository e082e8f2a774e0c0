package dev.lora4j.api.trial;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import dev.lora4j.config.ConfigException;
import dev.lora4j.data.DataException;
import dev.lora4j.lora.LoraException;
import dev.lora4j.model.ModelException;
import dev.lora4j.train.NonFiniteLossException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * Why a trial (or one attempt of it) did not finish. The kind decides what happens next: out of memory retries with
 * smaller micro-batches, a lost device or an internal error retries from the last checkpoint, bad data and a config
 * that does not fit the model never retry, a storage fault stops the sweep (the machine, not the trial, is at fault;
 * {@code --resume} continues once there is space again). Exceptions are classified once, where they are caught.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "kind")
@JsonSubTypes({
    @JsonSubTypes.Type(value = Failure.OutOfMemory.class, name = "out_of_memory"),
    @JsonSubTypes.Type(value = Failure.Diverged.class, name = "diverged"),
    @JsonSubTypes.Type(value = Failure.BadData.class, name = "bad_data"),
    @JsonSubTypes.Type(value = Failure.BadConfig.class, name = "bad_config"),
    @JsonSubTypes.Type(value = Failure.DeviceLost.class, name = "device_lost"),
    @JsonSubTypes.Type(value = Failure.Storage.class, name = "storage"),
    @JsonSubTypes.Type(value = Failure.Cancelled.class, name = "cancelled"),
    @JsonSubTypes.Type(value = Failure.Internal.class, name = "internal")})
public sealed interface Failure {
    /**
     * What went wrong, for people.
     *
     * @return one line
     */
    String message();

    /**
     * A stable name for files and scripts.
     *
     * @return {@code out_of_memory}, {@code diverged}, {@code bad_data}, {@code bad_config}, {@code device_lost},
     *     {@code storage}, {@code cancelled} or {@code internal}
     */
    String kind();

    /**
     * Whether another attempt can succeed (within the sweep's {@code max_failures}).
     *
     * @return false for bad data, a config that does not fit and a cancel
     */
    default boolean retryable() {
        return true;
    }

    /**
     * libtorch or the JVM could not allocate memory; a retry halves the micro-batch.
     *
     * @param message what happened
     */
    record OutOfMemory(String message) implements Failure {
        @Override
        public String kind() {
            return "out_of_memory";
        }
    }

    /**
     * The loss became NaN or infinite.
     *
     * @param message what happened
     */
    record Diverged(String message) implements Failure {
        @Override
        public String kind() {
            return "diverged";
        }
    }

    /**
     * The trial's data cannot be read or tokenised as configured.
     *
     * @param message what happened
     */
    record BadData(String message) implements Failure {
        @Override
        public String kind() {
            return "bad_data";
        }

        @Override
        public boolean retryable() {
            return false;
        }
    }

    /**
     * The config does not fit the model (a target module that does not exist, a model that cannot load).
     *
     * @param message what happened
     */
    record BadConfig(String message) implements Failure {
        @Override
        public String kind() {
            return "bad_config";
        }

        @Override
        public boolean retryable() {
            return false;
        }
    }

    /**
     * The device lane (or another actor the trial depended on) stopped while the trial used it.
     *
     * @param message what happened
     */
    record DeviceLost(String message) implements Failure {
        @Override
        public String kind() {
            return "device_lost";
        }
    }

    /**
     * A file of the trial or the sweep could not be written or read (a full disk, a folder deleted).
     *
     * @param message what happened
     */
    record Storage(String message) implements Failure {
        @Override
        public String kind() {
            return "storage";
        }
    }

    /**
     * The sweep, or this trial, was cancelled.
     *
     * @param message what happened
     */
    record Cancelled(String message) implements Failure {
        @Override
        public String kind() {
            return "cancelled";
        }

        @Override
        public boolean retryable() {
            return false;
        }
    }

    /**
     * Anything else: a bug of lora4j or of a library under it.
     *
     * @param message what happened
     */
    record Internal(String message) implements Failure {
        @Override
        public String kind() {
            return "internal";
        }
    }

    /**
     * Classifies a caught exception.
     *
     * @param thrown what was caught (a {@code CompletionException} is looked through)
     * @return its kind of failure, with its message
     */
    static Failure of(Throwable thrown) {
        Throwable t = unwrap(thrown);
        String m = describe(t);
        // lora4j's own exceptions are classified by type first: their messages may mention memory
        if (t instanceof NonFiniteLossException) {
            return new Diverged(m);
        }
        if (t instanceof DataException) {
            return new BadData(m);
        }
        if (t instanceof LoraException || t instanceof ModelException || t instanceof ConfigException) {
            return new BadConfig(m);
        }
        if (isOutOfMemory(t)) {
            return new OutOfMemory(m);
        }
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof IOException || c instanceof UncheckedIOException) {
                return new Storage(m);
            }
        }
        return new Internal(t instanceof RuntimeException && t.getMessage() != null ? m
                : t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage()));
    }

    /**
     * Rebuilds a failure from its kind and message (as {@code result.json} stores them).
     *
     * @param kind a {@link #kind()}; an unknown one reads as internal
     * @param message its message
     * @return the failure
     */
    static Failure of(String kind, String message) {
        return switch (kind) {
            case "out_of_memory" -> new OutOfMemory(message);
            case "diverged" -> new Diverged(message);
            case "bad_data" -> new BadData(message);
            case "bad_config" -> new BadConfig(message);
            case "device_lost" -> new DeviceLost(message);
            case "storage" -> new Storage(message);
            case "cancelled" -> new Cancelled(message);
            default -> new Internal(message);
        };
    }

    private static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    private static String describe(Throwable t) {
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    /**
     * libtorch reports allocation failures as engine exceptions whose text is the only clue; this is the one place
     * that reads it.
     */
    private static boolean isOutOfMemory(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof OutOfMemoryError) {
                return true;
            }
            String m = c.getMessage();
            if (m != null && (m.contains("out of memory") || m.contains("can't allocate memory")
                    || m.contains("DefaultCPUAllocator"))) {
                return true;
            }
        }
        return false;
    }
}
