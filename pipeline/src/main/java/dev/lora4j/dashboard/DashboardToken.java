package dev.lora4j.dashboard;

import dev.lora4j.files.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.regex.Pattern;

/**
 * A run's dashboard token: 32 random bytes, kept in {@code RUN_DIR/.dashboard-token} (owner-only, written
 * atomically) so a dashboard started again on the same run (a resumed sweep, {@code lora4j serve}) accepts the same
 * token and an open page keeps working.
 */
public final class DashboardToken {
    public static final String FILE = ".dashboard-token";
    private static final Pattern SHAPE = Pattern.compile("[A-Za-z0-9_-]{43}");
    private static final SecureRandom RANDOM = new SecureRandom();

    private final byte[] value;
    private final String text;

    private DashboardToken(String text) {
        this.text = text;
        this.value = text.getBytes(StandardCharsets.US_ASCII);
    }

    /** The run's token: the one in its file, else a fresh one written there. */
    public static DashboardToken of(Path runFolder) {
        Path file = runFolder.resolve(FILE);
        try {
            if (Files.isRegularFile(file)) {
                String kept = Files.readString(file, StandardCharsets.US_ASCII).strip();
                if (SHAPE.matcher(kept).matches()) {
                    return new DashboardToken(kept);
                }
            }
            byte[] bytes = new byte[32];
            RANDOM.nextBytes(bytes);
            DashboardToken t = new DashboardToken(Base64.getUrlEncoder().withoutPadding().encodeToString(bytes));
            write(runFolder, file, t.text);
            return t;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void write(Path dir, Path file, String text) throws IOException {
        boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
        // created owner-only, so the token is never readable by others, not even for a moment
        Path tmp = posix ? Files.createTempFile(dir, FILE, ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))
                : Files.createTempFile(dir, FILE, ".tmp");
        try {
            Files.writeString(tmp, text + "\n", StandardCharsets.US_ASCII);
            AtomicFiles.move(tmp, file);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** The token as text (for the URL printed once, and the page's POSTs). */
    public String text() {
        return text;
    }

    /** Whether {@code candidate} is the token, in time that does not depend on where they differ. */
    public boolean matches(String candidate) {
        if (candidate == null) {
            return false;
        }
        return MessageDigest.isEqual(value, candidate.getBytes(StandardCharsets.UTF_8));
    }
}
