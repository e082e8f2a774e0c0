package dev.lora4j.actors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Files through stream refs: whole, in chunks, never beside the folder they are meant for. */
class TransfersTest {
    static final ActorTestKit kit = ActorTestKit.create(ConfigFactory.parseString("lora4j.transfer-chunk = 1 KiB")
            .withFallback(ConfigFactory.load()));

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
    }

    @Test
    void aFolderArrivesWholeInChunks(@TempDir Path tmp) throws Exception {
        Path from = Files.createDirectories(tmp.resolve("from"));
        byte[] big = new byte[10_000];
        new Random(1).nextBytes(big);
        Files.write(from.resolve("optimizer.safetensors"), big);
        Files.writeString(from.resolve("trainer_state.json"), "{\"step\":4}");
        Files.createDirectories(from.resolve("not-sent"));
        Transfers.FolderOffer offer = Transfers.offerFolder(from, kit.system());
        assertEquals(2, offer.files().size(), "regular files only");
        assertEquals(10_010, offer.bytes());
        Path to = tmp.resolve("to");
        Transfers.receiveFolder(offer, to, kit.system()).toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertArrayEquals(big, Files.readAllBytes(to.resolve("optimizer.safetensors")));
        assertEquals("{\"step\":4}", Files.readString(to.resolve("trainer_state.json")));
        try (var left = Files.list(to)) {
            assertEquals(2, left.count(), "no part files left behind");
        }
    }

    @Test
    void aFileThatDoesNotArriveWholeLeavesNothing(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("data.jsonl");
        Files.writeString(f, "{\"text\": \"hello\"}\n");
        Transfers.FileOffer real = Transfers.offer(f, "data.jsonl", kit.system());
        // the offer promises more bytes than come: the copy is refused, not kept short
        Transfers.FileOffer lying = new Transfers.FileOffer("data.jsonl", real.size() + 5, real.bytes());
        Path target = tmp.resolve("copy/data.jsonl");
        ExecutionException e = assertThrows(ExecutionException.class, () -> Transfers.receive(lying, target,
                kit.system()).toCompletableFuture().get(30, TimeUnit.SECONDS));
        assertTrue(e.getCause().getMessage().contains("broke off after 18 of 23 bytes"), e.getCause().getMessage());
        assertFalse(Files.exists(target));
        try (var left = Files.list(target.getParent())) {
            assertEquals(0, left.count());
        }
    }

    @Test
    void aNameThatStepsOutOfTheFolderIsRefused(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("x");
        Files.writeString(f, "x");
        Transfers.FileOffer evil = new Transfers.FileOffer("../escaped", 1,
                Transfers.offer(f, "x", kit.system()).bytes());
        ExecutionException e = assertThrows(ExecutionException.class, () -> Transfers.receiveFolder(
                new Transfers.FolderOffer(List.of(evil)), tmp.resolve("in"), kit.system()).toCompletableFuture()
                .get(30, TimeUnit.SECONDS));
        assertTrue(e.getCause().getMessage().contains("refusing the file name \"../escaped\""), e.toString());
        assertFalse(Files.exists(tmp.resolve("escaped")));
    }
}
