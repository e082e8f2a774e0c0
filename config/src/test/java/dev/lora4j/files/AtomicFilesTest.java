package dev.lora4j.files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Atomic writes give files and folders the user's modes (umask), as plain writes do, and leave nothing behind. */
class AtomicFilesTest {
    @TempDir
    Path tmp;

    private static String mode(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    @Test
    void filesAndFoldersGetTheModesOfPlainWrites() throws IOException {
        assumeTrue(FileSystems.getDefault().supportedFileAttributeViews().contains("posix"), "POSIX modes");
        String file = mode(Files.writeString(tmp.resolve("plain.txt"), "x"));
        String folder = mode(Files.createDirectory(tmp.resolve("plain")));
        AtomicFiles.writeString(tmp.resolve("atomic.json"), "{}");
        assertEquals(file, mode(tmp.resolve("atomic.json")), "createTempFile would give rw-------");
        AtomicFiles.writeString(tmp.resolve("atomic.json"), "{\"again\": 1}");
        assertEquals(file, mode(tmp.resolve("atomic.json")), "replaced");
        assertEquals(folder, mode(AtomicFiles.stagingFolder(tmp.resolve("adapter"))), "createTempDirectory: rwx------");
        assertEquals(file, mode(AtomicFiles.newFile(tmp, ".x.", ".tmp")));
        assertEquals(folder, mode(AtomicFiles.newFolder(tmp, ".y.")));
    }

    @Test
    void writeStringLeavesNoTemporaryFile() throws IOException {
        AtomicFiles.writeString(tmp.resolve("sub/a.json"), "{}");
        try (Stream<Path> s = Files.list(tmp.resolve("sub"))) {
            assertEquals(List.of("a.json"), s.map(p -> p.getFileName().toString()).toList());
        }
    }

    @Test
    void anOutputFolderThatIsAFileIsRefusedNamingIt() throws IOException {
        Path file = Files.writeString(tmp.resolve("afile"), "mine");
        assertEquals("--out " + file + " is a file, not a folder", assertThrows(IllegalArgumentException.class,
                () -> AtomicFiles.requireWritableFolder(file, "--out")).getMessage());
        Path under = file.resolve("run");
        assertEquals("--out " + under + ": " + file + " is a file, not a folder", assertThrows(
                IllegalArgumentException.class, () -> AtomicFiles.requireWritableFolder(under, "--out"))
                .getMessage());
        AtomicFiles.requireWritableFolder(tmp.resolve("new/deeper"), "--out");
        assertFalse(Files.exists(tmp.resolve("new")), "the check creates nothing");
        assertEquals("mine", Files.readString(file));
    }
}
