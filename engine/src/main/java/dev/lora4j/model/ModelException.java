package dev.lora4j.model;

/** A model folder, weight file or architecture lora4j cannot use; the message names the file and what was expected. */
public class ModelException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ModelException(String message) {
        super(message);
    }

    public ModelException(String message, Throwable cause) {
        super(message, cause);
    }
}
