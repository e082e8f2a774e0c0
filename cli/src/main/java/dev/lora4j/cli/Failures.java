package dev.lora4j.cli;

import dev.lora4j.api.RunFolderBusyException;
import dev.lora4j.config.ConfigException;
import dev.lora4j.data.DataException;
import dev.lora4j.lora.LoraException;
import dev.lora4j.model.ModelException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;

/**
 * Turns what went wrong into the CLI's contract: bad input (a file, a field, a config that does not fit the model)
 * is exit code 2 with one clear line; anything else is a lora4j bug, exit code 1, still without a stack trace.
 */
final class Failures {
    static final int BAD_INPUT = 2;
    static final int INTERNAL = 1;

    private Failures() {}

    static boolean isBadInput(Throwable e) {
        return e instanceof ModelException || e instanceof LoraException || e instanceof ConfigException
                || e instanceof DataException
                || e instanceof UncheckedIOException || e instanceof IOException
                || e instanceof IllegalArgumentException || e instanceof RunFolderBusyException;
    }

    static String message(Throwable e) {
        if (e instanceof UncheckedIOException u && u.getCause() instanceof NoSuchFileException n) {
            return n.getFile() + ": no such file";
        }
        if (e instanceof NoSuchFileException n) {
            return n.getFile() + ": no such file";
        }
        if (e instanceof ConfigException c) {
            return c.getMessage();
        }
        String m = e.getMessage();
        return m == null ? e.toString() : m;
    }
}
