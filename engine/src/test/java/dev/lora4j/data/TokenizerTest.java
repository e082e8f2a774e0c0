package dev.lora4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.util.Utils;
import java.io.IOException;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizerTest {
    @TempDir
    Path dir;

    @Test
    void bertWordLevelWithClsAndSep() {
        TestTokenizers.bert(dir, false);
        try (Tokenizer t = Tokenizer.load(dir)) {
            Tokenizer.Tokens tokens = t.encode("hello world zebra", true);
            assertArrayEquals(new long[] {2, 4, 5, 1, 3}, tokens.ids());
            assertArrayEquals(new long[] {0, 0, 0, 0, 0}, tokens.typeIds());
            assertEquals(1, tokens.specialPrefix());
            assertEquals(1, tokens.specialSuffix());
            assertArrayEquals(new long[] {4, 5, 1}, t.encode("hello world zebra", false).ids());
            // no config: no BOS/EOS known, pad id 0
            assertEquals(OptionalLong.empty(), t.eosId());
            assertEquals(0, t.padId());
        }
    }

    @Test
    void builtInTruncationAndPaddingAreOverridden() {
        TestTokenizers.bert(dir, true); // the file says: truncate to 4, pad to 8
        try (Tokenizer t = Tokenizer.load(dir.resolve(Tokenizer.FILE))) {
            assertArrayEquals(new long[] {2, 4, 5, 6, 7, 8, 9, 3},
                    t.encode("hello world good bad movie great", true).ids(), "not cut to 4");
            assertArrayEquals(new long[] {2, 4, 3}, t.encode("hello", true).ids(), "not padded to 8");
            List<Tokenizer.Tokens> many = t.encodeAll(List.of("hello", "is the movie great"), true);
            assertArrayEquals(new long[] {2, 4, 3}, many.get(0).ids(), "batch encoding does not pad either");
            assertArrayEquals(new long[] {2, 10, 11, 8, 9, 3}, many.get(1).ids());
        }
    }

    @Test
    void llamaBpeWithBosFromTheTemplate() {
        TestTokenizers.llama(dir);
        TestTokenizers.llamaConfig(dir, null, null, null);
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertArrayEquals(new long[] {1, 7, 8, 6, 3}, t.encode("abc d ab a", true).ids());
            assertArrayEquals(new long[] {7, 8}, t.encode("abc d", false).ids());
            assertEquals(OptionalLong.of(1), t.bosId());
            assertEquals(OptionalLong.of(2), t.eosId());
            assertEquals(2, t.padId(), "no pad token: EOS pads");
        }
    }

    @Test
    void configFlagsOverrideThePostProcessor() {
        TestTokenizers.llama(dir);
        TestTokenizers.llamaConfig(dir, true, true, "<pad>");
        try (Tokenizer t = Tokenizer.load(dir)) {
            Tokenizer.Tokens tokens = t.encode("abc d", true);
            assertArrayEquals(new long[] {1, 7, 8, 2}, tokens.ids(), "add_eos_token appends EOS");
            assertEquals(1, tokens.specialPrefix());
            assertEquals(1, tokens.specialSuffix());
            assertEquals(9, t.padId());
        }
        TestTokenizers.llamaConfig(dir, false, null, null);
        try (Tokenizer t = Tokenizer.load(dir)) {
            Tokenizer.Tokens tokens = t.encode("abc d", true);
            assertArrayEquals(new long[] {7, 8}, tokens.ids(), "add_bos_token false drops the template's BOS");
            assertEquals(0, tokens.specialPrefix());
        }
    }

    @Test
    void specialTokensMapWinsOverTheConfig() {
        TestTokenizers.llama(dir);
        TestTokenizers.llamaConfig(dir, null, null, null);
        TestTokenizers.write(dir, Tokenizer.SPECIAL_TOKENS, """
                {"pad_token": {"content": "<unk>", "lstrip": false}, "eos_token": "</s>"}
                """);
        try (Tokenizer t = Tokenizer.load(dir)) {
            assertEquals(0, t.padId());
        }
    }

    @Test
    void identityFollowsEveryFile() {
        TestTokenizers.llama(dir);
        String bare;
        try (Tokenizer t = Tokenizer.load(dir)) {
            bare = t.identity();
        }
        TestTokenizers.llamaConfig(dir, null, true, null);
        try (Tokenizer t = Tokenizer.load(dir); Tokenizer again = Tokenizer.load(dir)) {
            assertNotEquals(bare, t.identity());
            assertEquals(t.identity(), again.identity());
        }
    }

    @Test
    void unknownSpecialTokenNamesTheFile() {
        TestTokenizers.llama(dir);
        TestTokenizers.llamaConfig(dir, null, null, "<mask>");
        DataException e = assertThrows(DataException.class, () -> Tokenizer.load(dir));
        assertEquals(dir.resolve("tokenizer.json") + ": pad_token \"<mask>\" (from tokenizer_config.json or"
                + " special_tokens_map.json) is neither an added token nor in the model's vocabulary", e.getMessage());
    }

    @Test
    void anInvalidTokenizerJsonNamesTheFile() {
        Path f = TestTokenizers.write(dir, Tokenizer.FILE, "{\"model\": {\"type\": \"Nonsense\"}}");
        DataException e = assertThrows(DataException.class, () -> Tokenizer.load(dir));
        assertTrue(e.getMessage().startsWith(f + ": cannot load the tokenizer: "), e.getMessage());
    }

    @Test
    void missingTokenizerJson() {
        DataException e = assertThrows(DataException.class, () -> Tokenizer.load(dir));
        assertEquals(dir.resolve("tokenizer.json") + ": no such file; a fast tokenizer's tokenizer.json is needed",
                e.getMessage());
    }

    @Test
    void loadingAndEncodingReachNoNetwork() {
        List<URI> asked = new CopyOnWriteArrayList<>();
        ProxySelector before = ProxySelector.getDefault();
        // every HttpURLConnection (DJL's downloads and telemetry) asks the default selector first
        ProxySelector.setDefault(new ProxySelector() {
            @Override
            public List<Proxy> select(URI uri) {
                asked.add(uri);
                throw new IllegalStateException("network access to " + uri);
            }

            @Override
            public void connectFailed(URI uri, SocketAddress sa, IOException ioe) {}
        });
        try {
            TestTokenizers.bert(dir, false);
            try (Tokenizer t = Tokenizer.load(dir)) {
                t.encode("hello", true);
            }
        } finally {
            ProxySelector.setDefault(before);
        }
        assertEquals(List.of(), asked);
        assertTrue(Utils.isOfflineMode(), "DJL runs offline");
    }
}
