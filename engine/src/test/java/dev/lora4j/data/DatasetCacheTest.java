package dev.lora4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.config.TaskType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetCacheTest {
    private static final DataOptions CAUSAL = DataOptions.of(TaskType.CAUSAL_LM);

    @TempDir
    Path dir;

    private Tokenizer tokenizer() {
        TestTokenizers.llama(dir.resolve("tok"));
        return Tokenizer.load(dir.resolve("tok"));
    }

    private Path rows(String name, int n) throws IOException {
        String text = IntStream.range(0, n).mapToObj(i -> "{\"text\": \"ab c d " + i + "\"}")
                .collect(Collectors.joining("\n"));
        return Files.writeString(dir.resolve(name), text);
    }

    @Test
    void theSameInputsGiveTheSameObject() throws IOException {
        DatasetCache cache = new DatasetCache();
        Path f = rows("a.jsonl", 10);
        try (Tokenizer t = tokenizer(); Tokenizer sameFiles = Tokenizer.load(dir.resolve("tok"))) {
            TokenizedDataset first = cache.get(f, t, CAUSAL);
            assertSame(first, cache.get(f, sameFiles, CAUSAL), "a tokenizer from the same files");
            assertSame(first, cache.get(dir.resolve(".").resolve("a.jsonl"), t, CAUSAL.withFormat(Format.JSONL)),
                    "another spelling of the path, the format written out");
            assertEquals(10, t.textsEncoded());
            assertEquals(0, sameFiles.textsEncoded());
            assertNotSame(first, cache.get(f, t, CAUSAL.withMaxLength(3)));
            assertEquals(2, cache.size());
        }
    }

    @Test
    void concurrentRequestsTokeniseOnce() throws Exception {
        DatasetCache cache = new DatasetCache();
        Path f = rows("big.jsonl", 5000);
        int threads = 8;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try (Tokenizer t = tokenizer()) {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<TokenizedDataset>> results = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                results.add(pool.submit(() -> {
                    start.await();
                    return cache.get(f, t, CAUSAL);
                }));
            }
            start.countDown();
            TokenizedDataset first = results.get(0).get();
            for (Future<TokenizedDataset> r : results) {
                assertSame(first, r.get());
            }
            assertEquals(5000, t.textsEncoded(), "every row tokenised exactly once");
            assertEquals(5000, first.size());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aChangedFileIsTokenisedAgain() throws IOException {
        DatasetCache cache = new DatasetCache();
        Path f = rows("a.jsonl", 3);
        try (Tokenizer t = tokenizer()) {
            TokenizedDataset before = cache.get(f, t, CAUSAL);
            FileTime mtime = Files.getLastModifiedTime(f);
            // same size, same modification time, other contents: only the hash tells
            Files.writeString(f, Files.readString(f).replace("ab c", "c ab"));
            Files.setLastModifiedTime(f, mtime);
            TokenizedDataset after = cache.get(f, t, CAUSAL);
            assertNotSame(before, after);
            assertEquals(6, t.textsEncoded());
        }
    }

    @Test
    void failuresAreNotCached() throws IOException {
        DatasetCache cache = new DatasetCache();
        Path f = Files.writeString(dir.resolve("bad.jsonl"), "{\"text\": \"\"}\n");
        try (Tokenizer t = tokenizer()) {
            DataException first = assertThrows(DataException.class, () -> cache.get(f, t, CAUSAL));
            assertEquals(0, cache.size());
            DataException again = assertThrows(DataException.class, () -> cache.get(f, t, CAUSAL));
            assertEquals(first.getMessage(), again.getMessage());
            assertEquals(f + ":1: \"text\" is empty", again.getMessage());
        }
    }

    @Test
    void largeFilesAreHashedByTheirEnds() throws IOException {
        Path f = dir.resolve("large.bin");
        byte[] mb = new byte[1 << 20];
        try (var out = Files.newOutputStream(f)) {
            for (int i = 0; i < 65; i++) {
                out.write(mb);
            }
        }
        DatasetCache.FileIdentity id = DatasetCache.FileIdentity.of(f);
        assertTrue(id.sha256().startsWith("sampled:"), id.sha256());
        assertEquals(65L << 20, id.size());
        assertEquals(f.toRealPath(), id.path());
    }
}
