package dev.lora4j.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tokenised data sets by (file contents, tokenizer, options), so that every trial of a sweep that trains on the same
 * file with the same tokenizer and options shares one copy, tokenised once.
 *
 * <p>Concurrent requests for one key wait for the first one's tokenisation rather than repeat it; requests for
 * different keys tokenise in parallel. A failed build is not kept: the next request tries again (and reports the
 * same error if the file is unchanged). Entries stay until {@link #clear()}: a sweep holds a handful of data sets.
 */
public final class DatasetCache {
    private static final DatasetCache SHARED = new DatasetCache();

    /** Files up to this size are hashed whole; larger ones by their first and last {@value #SAMPLE} bytes. */
    static final long HASH_WHOLE_UP_TO = 64L << 20;
    static final int SAMPLE = 1 << 20;

    private final ConcurrentHashMap<Key, CompletableFuture<TokenizedDataset>> entries = new ConcurrentHashMap<>();

    /**
     * A file as its contents: the same path rewritten is a different file, a copy elsewhere is a different file too
     * (its path is part of messages and stats).
     *
     * @param path     the real, absolute path
     * @param size     bytes
     * @param modified last modification, in milliseconds
     * @param sha256   of the whole file, or for large files of its size, first and last MiB ({@code sampled:...})
     */
    public record FileIdentity(Path path, long size, long modified, String sha256) {
        public static FileIdentity of(Path file) {
            try {
                Path real = file.toRealPath();
                long size = Files.size(real);
                long modified = Files.getLastModifiedTime(real).toMillis();
                return new FileIdentity(real, size, modified, hash(real, size));
            } catch (IOException e) {
                throw new DataException(file + ": cannot read: " + e.getMessage(), e);
            }
        }

        private static String hash(Path file, long size) throws IOException {
            MessageDigest md = Sha256.digest();
            if (size <= HASH_WHOLE_UP_TO) {
                byte[] buf = new byte[1 << 16];
                try (InputStream in = Files.newInputStream(file)) {
                    int n;
                    while ((n = in.read(buf)) > 0) {
                        md.update(buf, 0, n);
                    }
                }
                return Sha256.hex(md);
            }
            // size and mtime already tell most edits apart; the two ends catch appends and rewritten headers
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                md.update(Long.toString(size).getBytes(StandardCharsets.US_ASCII));
                md.update(read(ch, 0, SAMPLE));
                md.update(read(ch, size - SAMPLE, SAMPLE));
            }
            return "sampled:" + Sha256.hex(md);
        }

        private static ByteBuffer read(FileChannel ch, long at, int n) throws IOException {
            ByteBuffer buf = ByteBuffer.allocate(n);
            while (buf.hasRemaining()) {
                if (ch.read(buf, at + buf.position()) < 0) {
                    break;
                }
            }
            return buf.flip();
        }
    }

    /** What a tokenised data set depends on. The format is resolved, so "from the extension" and "jsonl" agree. */
    public record Key(FileIdentity file, String tokenizer, DataOptions options) {}

    /** The cache every trial in this JVM shares. */
    public static DatasetCache shared() {
        return SHARED;
    }

    public static Key keyOf(Path file, Tokenizer tokenizer, DataOptions options) {
        if (!Files.isRegularFile(file)) {
            throw DataFile.notAFile(file);
        }
        return new Key(FileIdentity.of(file), tokenizer.identity(), options.withFormat(options.formatOf(file)));
    }

    /** The data set for these inputs: cached, being built by another thread (waited for), or built now. */
    public TokenizedDataset get(Path file, Tokenizer tokenizer, DataOptions options) {
        Key key = keyOf(file, tokenizer, options);
        CompletableFuture<TokenizedDataset> mine = new CompletableFuture<>();
        CompletableFuture<TokenizedDataset> existing = entries.putIfAbsent(key, mine);
        if (existing != null) {
            return await(existing);
        }
        try {
            mine.complete(TokenizedDataset.build(file, tokenizer, options));
        } catch (RuntimeException | Error e) {
            entries.remove(key, mine);
            mine.completeExceptionally(e);
        }
        return await(mine);
    }

    private static TokenizedDataset await(CompletableFuture<TokenizedDataset> f) {
        try {
            return f.join();
        } catch (CompletionException e) {
            // the builder's own exception, so a waiting trial reports the bad rows exactly as the first one did
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw e;
        }
    }

    /** Data sets built or being built. */
    public int size() {
        return entries.size();
    }

    public void clear() {
        entries.clear();
    }
}
