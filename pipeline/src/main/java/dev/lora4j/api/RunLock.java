package dev.lora4j.api;

import dev.lora4j.files.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;

/**
 * The one writer of a run folder: an operating-system lock on {@code <run>/.lock}, held while a sweep runs. The OS
 * drops the lock when the process ends however it ends (kill -9 included), so a crashed run never leaves the folder
 * stuck; the file itself only says who held it last.
 */
final class RunLock implements AutoCloseable {
    public static final String FILE = ".lock";

    private final Path file;
    private final FileChannel channel;
    private final FileLock lock;

    private RunLock(Path file, FileChannel channel, FileLock lock) {
        this.file = file;
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Takes the lock of {@code runDir} (creating the folder), or throws {@link RunFolderBusyException} naming who
     * holds it.
     */
    public static RunLock acquire(Path runDir) {
        AtomicFiles.requireWritableFolder(runDir, "run folder");
        Path file = runDir.resolve(FILE);
        FileChannel ch = null;
        try {
            Files.createDirectories(runDir);
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null; // held by this JVM (another sweep of this process)
            }
            if (lock == null) {
                String holder = holder(ch);
                ch.close();
                throw new RunFolderBusyException(runDir, holder);
            }
            ch.truncate(0);
            ch.write(ByteBuffer.wrap(("pid " + ProcessHandle.current().pid() + " (" + processName() + ") since "
                    + Instant.now() + "\n").getBytes(StandardCharsets.UTF_8)), 0);
            ch.force(false);
            return new RunLock(file, ch, lock);
        } catch (IOException e) {
            if (ch != null) {
                try {
                    ch.close();
                } catch (IOException ignored) {
                    // the first error is the one to report
                }
            }
            throw new UncheckedIOException("cannot lock run folder " + runDir + ": " + e.getMessage(), e);
        }
    }

    private static String holder(FileChannel ch) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(256);
        int n = ch.read(b, 0);
        String s = n <= 0 ? "" : new String(b.array(), 0, n, StandardCharsets.UTF_8).trim();
        return s.isEmpty() ? "another sweep" : s;
    }

    private static String processName() {
        return ManagementFactory.getRuntimeMXBean().getName();
    }

    /** Whether the lock file is still where it was (a run folder deleted mid-sweep takes it away). */
    public boolean present() {
        return Files.isRegularFile(file);
    }

    @Override
    public void close() {
        try {
            if (lock.isValid()) {
                lock.release();
            }
            channel.close();
        } catch (IOException e) {
            // the process ends soon or the folder is gone; the OS drops the lock either way
        }
    }
}
