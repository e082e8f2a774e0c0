package dev.lora4j.files;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Writes that never leave a half-written file or folder behind: everything is assembled in a hidden sibling and
 * renamed into place, so a crash (even kill -9) leaves the old version or the new one.
 *
 * <p>Every file and folder is created with the modes a plain {@link Files#newOutputStream} or
 * {@link Files#createDirectory} gives (0666 and 0777 less the user's umask), never the 0600/0700 of
 * {@link Files#createTempFile}: a run folder's files are as readable as anything else the user writes. lora4j
 * writes no secrets.
 */
public final class AtomicFiles {
    private static final SecureRandom NAMES = new SecureRandom();

    private AtomicFiles() {}

    /** Replaces {@code file} with {@code text} (UTF-8), creating its folder if needed. */
    public static void writeString(Path file, String text) {
        Path target = file.toAbsolutePath();
        try {
            Files.createDirectories(target.getParent());
            Path tmp = newFile(target.getParent(), "." + target.getFileName() + ".", ".tmp");
            try {
                Files.writeString(tmp, text, StandardCharsets.UTF_8);
                move(tmp, target);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** A new hidden folder beside {@code target} to assemble its next version in. */
    public static Path stagingFolder(Path target) throws IOException {
        Path abs = target.toAbsolutePath();
        Files.createDirectories(abs.getParent());
        return newFolder(abs.getParent(), "." + abs.getFileName() + ".tmp-");
    }

    /**
     * A new empty file {@code prefix + random + suffix} in {@code dir}, with the modes of any file the user creates
     * (unlike {@link Files#createTempFile}, which makes it 0600).
     */
    public static Path newFile(Path dir, String prefix, String suffix) throws IOException {
        while (true) {
            try {
                return Files.createFile(dir.resolve(prefix + randomName() + suffix));
            } catch (FileAlreadyExistsException e) {
                // another name
            }
        }
    }

    /**
     * A new empty folder {@code prefix + random} in {@code dir}, with the modes of any folder the user creates
     * (unlike {@link Files#createTempDirectory}, which makes it 0700).
     */
    public static Path newFolder(Path dir, String prefix) throws IOException {
        while (true) {
            try {
                return Files.createDirectory(dir.resolve(prefix + randomName()));
            } catch (FileAlreadyExistsException e) {
                // another name
            }
        }
    }

    private static String randomName() {
        return Long.toUnsignedString(NAMES.nextLong(), 36);
    }

    /** Puts the assembled folder {@code staged} in place of {@code target} (which may exist). */
    public static void replaceFolder(Path staged, Path target) throws IOException {
        Path backup = null;
        if (Files.exists(target)) {
            backup = target.resolveSibling("." + target.getFileName() + ".old-" + System.nanoTime());
            move(target, backup);
        }
        move(staged, target);
        if (backup != null) {
            deleteRecursively(backup);
        }
    }

    /** A rename, atomic where the file system allows it. */
    public static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    public static void deleteRecursively(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(x);
            }
        }
    }

    /**
     * Checks, before any work, that {@code dir} is a folder lora4j can create or write in: not a file, not under a
     * file, not on a read-only file system or without write permission. Nothing is created.
     *
     * @param dir the output folder
     * @param label what the user calls it in messages ({@code --out}, {@code out folder})
     * @throws IllegalArgumentException in one line naming {@code label} and {@code dir}
     */
    public static void requireWritableFolder(Path dir, String label) {
        Path abs = dir.toAbsolutePath();
        Path existing = abs;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return; // nothing of it exists, not even a root: creating it reports the real error
        }
        if (!Files.isDirectory(existing)) {
            throw new IllegalArgumentException(existing.equals(abs)
                    ? label + " " + dir + " is a file, not a folder"
                    : label + " " + dir + ": " + existing + " is a file, not a folder");
        }
        if (!Files.isWritable(existing)) {
            throw new IllegalArgumentException(label + " " + dir + ": cannot write in " + existing + " ("
                    + (readOnlyStore(existing) ? "read-only file system" : "no write permission") + ")");
        }
    }

    private static boolean readOnlyStore(Path p) {
        try {
            FileStore store = Files.getFileStore(p);
            return store.isReadOnly();
        } catch (IOException e) {
            return false;
        }
    }
}
