package dev.lora4j.data;

import java.util.List;

/**
 * A data file lora4j cannot train on. The message names the file, the line of each bad row and what is allowed;
 * {@link #problems()} lists the rows one by one (the first few hundred) for tools that show them separately.
 */
public class DataException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final List<String> problems;

    public DataException(String message) {
        this(message, List.of(message));
    }

    DataException(String message, List<String> problems) {
        super(message);
        this.problems = List.copyOf(problems);
    }

    DataException(String message, Throwable cause) {
        super(message, cause);
        this.problems = List.of(message);
    }

    /** One line per problem, each {@code file:line: what is wrong}. */
    public List<String> problems() {
        return problems;
    }
}
