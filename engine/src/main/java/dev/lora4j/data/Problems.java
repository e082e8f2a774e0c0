package dev.lora4j.data;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The bad rows of one file, collected so a user fixes them all in one go instead of one per run. At most one problem
 * per row is added; the exception's message shows the first {@value #SHOWN} by line and counts the rest.
 */
final class Problems {
    static final int SHOWN = 20;
    // enough for any tool that lists them; a file with millions of bad rows must not fill the heap with messages
    private static final int KEPT = 500;

    private record Problem(long line, String message) {}

    private final String file;
    private final List<Problem> kept = new ArrayList<>();
    private long count;

    Problems(String file) {
        this.file = file;
    }

    void add(long line, String message) {
        count++;
        if (kept.size() < KEPT) {
            kept.add(new Problem(line, message));
        }
    }

    boolean isEmpty() {
        return count == 0;
    }

    void throwIfAny() {
        if (count == 0) {
            return;
        }
        List<String> lines = kept.stream()
                .sorted(Comparator.comparingLong(Problem::line))
                .map(p -> file + ":" + p.line() + ": " + p.message())
                .toList();
        if (count == 1) {
            throw new DataException(lines.get(0), lines);
        }
        StringBuilder msg = new StringBuilder(file).append(": ").append(count).append(" bad rows");
        lines.stream().limit(SHOWN).forEach(l -> msg.append("\n  ").append(l));
        if (count > SHOWN) {
            msg.append("\n  and ").append(count - SHOWN).append(" more");
        }
        throw new DataException(msg.toString(), lines);
    }
}
