package dev.lora4j.safetensors;

import java.io.IOException;
import java.nio.file.Path;

/** A file that is not a valid safetensors file (or checkpoint index); the message names the file and the problem. */
public final class SafetensorsFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;

    SafetensorsFormatException(Path file, String message) {
        super(message);
        this.file = file;
    }

    SafetensorsFormatException(Path file, String message, Throwable cause) {
        super(message, cause);
        this.file = file;
    }

    /** The offending file. */
    public Path file() {
        return file;
    }
}
