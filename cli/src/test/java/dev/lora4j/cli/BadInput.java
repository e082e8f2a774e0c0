package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The bad-input corpus's checks: a bad input exits with its code and one line naming the file, the field and what
 * is allowed, never a stack trace or an "internal error", and leaves what was on disk as it was.
 */
final class BadInput {
    private BadInput() {}

    /** Every regular file under {@code dir}: size, modification time and permissions (absent folders are empty). */
    static Map<String, String> snapshot(Path dir) {
        Map<String, String> out = new TreeMap<>();
        if (!Files.exists(dir)) {
            return out;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                out.put(dir.relativize(p).toString(), Files.size(p) + " bytes @" + Files.getLastModifiedTime(p)
                        .toMillis() + " " + PosixFilePermissions.toString(Files.getPosixFilePermissions(p,
                        LinkOption.NOFOLLOW_LINKS)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /**
     * The CLI refused with {@code code} and one line that contains every fragment.
     *
     * @return the line
     */
    static String assertRefused(Cli.Result r, int code, String... fragments) {
        assertEquals(code, r.code(), r.toString());
        String err = r.err().strip();
        assertEquals(1, err.lines().count(), "one line:\n" + r.err());
        assertTrue(err.startsWith("lora4j: "), err);
        assertFalse(err.contains("internal error"), "the user's mistake is not an internal error: " + err);
        assertFalse(r.out().contains("\tat ") || r.err().contains("\tat "), "no stack trace");
        for (String f : fragments) {
            assertTrue(err.contains(f), "'" + f + "' in: " + err);
        }
        return err;
    }

    /** As {@link #assertRefused}, and the files under {@code watched} are as they were before. */
    static String assertRefusedLeaving(Path watched, int code, Object[] args, String... fragments) {
        Map<String, String> before = snapshot(watched);
        Cli.Result r = Cli.run(args);
        String line = assertRefused(r, code, fragments);
        assertEquals(before, snapshot(watched), "nothing on disk changed");
        return line;
    }
}
