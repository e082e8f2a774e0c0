package dev.lora4j.actors;

import dev.lora4j.files.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * A node's own scratch space for the trials it trains for a coordinator elsewhere: staging folders, where an attempt
 * writes a checkpoint or an adapter before it streams to the coordinator (deleted once the coordinator has it), and a
 * cache of the coordinator's data files, fetched once per file version and shared by every trial that reads it (so
 * the data loader's tokenisation cache works across trials, as on one machine).
 */
public final class NodeFiles {
    private final Path root;
    private final ConcurrentHashMap<String, CompletableFuture<Path>> data = new ConcurrentHashMap<>();

    public NodeFiles(Path root) {
        this.root = root.toAbsolutePath().normalize();
    }

    /**
     * A data file as it is on the coordinator: its path there, its size and its modification time (a changed file
     * is fetched again).
     */
    public record DataFile(String path, long size, long modified) {
        /** Describes a local file. */
        public static DataFile of(Path file) {
            try {
                return new DataFile(file.toString(), Files.size(file), Files.getLastModifiedTime(file).toMillis());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
            }
        }
    }

    /** A fresh, empty staging folder for one attempt of {@code trialId}. */
    public Path newStaging(String trialId) {
        try {
            Path dir = root.resolve("staging");
            Files.createDirectories(dir);
            return AtomicFiles.newFolder(dir, trialId + "-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a staging folder in " + root + ": " + e.getMessage(), e);
        }
    }

    /**
     * This node's copy of {@code file} from {@code origin}: present already, on its way for another trial, or pulled
     * now by {@code fetch} (given the path to write). A failed fetch is forgotten, so the next trial tries again.
     */
    public CompletionStage<Path> localize(String origin, DataFile file,
            Function<Path, CompletionStage<Path>> fetch) {
        String key = key(origin, file);
        Path target = root.resolve("data").resolve(key).resolve(Path.of(file.path()).getFileName().toString());
        CompletableFuture<Path> mine = new CompletableFuture<>();
        CompletableFuture<Path> known = data.putIfAbsent(key, mine);
        if (known != null) {
            return known;
        }
        try {
            if (Files.isRegularFile(target) && Files.size(target) == file.size()) {
                mine.complete(target);
                return mine;
            }
        } catch (IOException e) {
            // fetch it again
        }
        fetch.apply(target).whenComplete((p, e) -> {
            if (e != null) {
                data.remove(key, mine);
                mine.completeExceptionally(e);
            } else {
                mine.complete(p);
            }
        });
        return mine;
    }

    private static String key(String origin, DataFile f) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            d.update((origin + "\n" + f.path() + "\n" + f.size() + "\n" + f.modified())
                    .getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d.digest()).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
