package dev.lora4j.actors;

import dev.lora4j.files.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.stream.IOResult;
import org.apache.pekko.stream.SourceRef;
import org.apache.pekko.stream.javadsl.FileIO;
import org.apache.pekko.stream.javadsl.StreamRefs;
import org.apache.pekko.util.ByteString;

/**
 * Files between nodes: the sender offers each file as a Pekko Streams {@link SourceRef} of chunks (backpressured, at
 * most {@code lora4j.transfer-chunk} bytes per message, so no tensor ever travels as one message); the receiver pulls
 * it into a file of its own. A folder (a checkpoint, an adapter) is flat: its regular files by name. The sender must
 * keep the files until the receiver says it has them.
 */
public final class Transfers {
    /** A file name that cannot step out of the folder it is written to. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

    private Transfers() {}

    /**
     * One file offered to another node.
     *
     * @param name the file's name in its folder
     * @param size its length in bytes, checked by the receiver
     * @param bytes its contents; pull within the stream refs' subscription timeout (30 s by default)
     */
    public record FileOffer(String name, long size, SourceRef<ByteString> bytes) {}

    /** A folder's regular files offered to another node. */
    public record FolderOffer(List<FileOffer> files) {
        public FolderOffer {
            files = List.copyOf(files);
        }

        public long bytes() {
            return files.stream().mapToLong(FileOffer::size).sum();
        }
    }

    /** Offers {@code file} under {@code name}. */
    public static FileOffer offer(Path file, String name, ActorSystem<?> system) {
        try {
            long size = Files.size(file);
            SourceRef<ByteString> ref = FileIO.fromPath(file, chunk(system)).runWith(StreamRefs.sourceRef(), system);
            return new FileOffer(name, size, ref);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot offer " + file + ": " + e.getMessage(), e);
        }
    }

    /** Offers every regular file of {@code folder} (not its subfolders: lora4j's folders that travel are flat). */
    public static FolderOffer offerFolder(Path folder, ActorSystem<?> system) {
        List<FileOffer> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(folder)) {
            for (Path p : s.sorted().toList()) {
                if (Files.isRegularFile(p)) {
                    out.add(offer(p, p.getFileName().toString(), system));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot offer " + folder + ": " + e.getMessage(), e);
        }
        return new FolderOffer(out);
    }

    /**
     * Pulls an offered file into {@code target} (written beside it, then renamed: a failed transfer leaves nothing
     * at {@code target}). Fails if the bytes that arrive are not the size that was offered.
     */
    public static CompletionStage<Path> receive(FileOffer offer, Path target, ActorSystem<?> system) {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".part-" + System.nanoTime());
        try {
            Files.createDirectories(target.toAbsolutePath().getParent());
        } catch (IOException e) {
            return CompletableFuture.failedFuture(new UncheckedIOException("cannot write " + target + ": "
                    + e.getMessage(), e));
        }
        CompletionStage<IOResult> written = offer.bytes().getSource().runWith(FileIO.toPath(tmp), system);
        return written.handle((io, error) -> {
            try {
                if (error != null) {
                    throw new IllegalStateException("the transfer of " + offer.name() + " broke off: "
                            + error.getMessage(), error);
                }
                if (io.count() != offer.size()) {
                    throw new IllegalStateException("the transfer of " + offer.name() + " broke off after "
                            + io.count() + " of " + offer.size() + " bytes");
                }
                AtomicFiles.move(tmp, target);
                return target;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + target + ": " + e.getMessage(), e);
            } finally {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException e) {
                    // a leftover part file is harmless: nothing reads dot files
                }
            }
        });
    }

    /**
     * Pulls an offered folder into {@code folder} (created; it should be a staging folder the caller renames into
     * place once this completes). Refuses file names that could point outside it.
     */
    public static CompletionStage<Path> receiveFolder(FolderOffer offer, Path folder, ActorSystem<?> system) {
        List<CompletableFuture<Path>> all = new ArrayList<>();
        for (FileOffer f : offer.files()) {
            if (!NAME.matcher(f.name()).matches()) {
                return CompletableFuture.failedFuture(new IllegalArgumentException("refusing the file name \""
                        + f.name() + "\" from another node"));
            }
            all.add(receive(f, folder.resolve(f.name()), system).toCompletableFuture());
        }
        return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).thenApply(v -> folder);
    }

    private static int chunk(ActorSystem<?> system) {
        return (int) Math.min(Integer.MAX_VALUE, system.settings().config().getBytes("lora4j.transfer-chunk"));
    }
}
