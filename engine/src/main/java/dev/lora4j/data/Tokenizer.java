package dev.lora4j.data;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import com.fasterxml.jackson.databind.JsonNode;
import dev.lora4j.runtime.Torch;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A Hugging Face fast tokenizer loaded from a model folder's {@code tokenizer.json}, run by DJL's native
 * {@code tokenizers} library from its jar, offline.
 *
 * <p>What lora4j takes from the files, and what it overrides:
 * <ul>
 *   <li>Truncation and padding written into {@code tokenizer.json} are switched off: lora4j truncates each row to
 *       its {@code max_length} itself and pads per batch, so a tokenizer saved with, say, padding to 128 cannot
 *       change the data.
 *   <li>Special tokens are the post-processor's ({@code [CLS] ... [SEP]}, {@code <s> ...}). Where
 *       {@code tokenizer_config.json} sets {@code add_bos_token} or {@code add_eos_token}, that wins: the BOS or EOS
 *       the post-processor adds is dropped, or one it does not add is added (as transformers rebuilds a Llama
 *       tokenizer's post-processor from those flags).
 *   <li>BOS, EOS and pad tokens are named in {@code tokenizer_config.json}, overridden by
 *       {@code special_tokens_map.json} (the order transformers reads them in), and looked up in
 *       {@code tokenizer.json}. The pad id is the pad token's, else EOS's, else 0.
 * </ul>
 *
 * <p>Encoding is thread-safe (the native tokenizer is immutable once loaded).
 */
public final class Tokenizer implements AutoCloseable {
    static final String FILE = "tokenizer.json";
    static final String CONFIG = "tokenizer_config.json";
    static final String SPECIAL_TOKENS = "special_tokens_map.json";

    // the file's own truncation and padding are replaced by none; special tokens on unless asked otherwise per call
    private static final Map<String, String> NO_BUILT_IN_LIMITS =
            Map.of("truncation", "false", "padding", "false", "addSpecialTokens", "true");
    private static final long NONE = -1;

    private final HuggingFaceTokenizer native_;
    private final String identity;
    private final long bos;
    private final long eos;
    private final long pad;
    private final Boolean addBos;
    private final Boolean addEos;
    private final AtomicLong encoded = new AtomicLong();

    /**
     * The tokens of one text.
     *
     * @param ids           token ids
     * @param typeIds       token type ids (BERT's segment ids; all 0 for one sequence of most tokenizers)
     * @param specialPrefix how many of the first ids are special tokens the tokenizer added ({@code [CLS]}, BOS)
     * @param specialSuffix how many of the last ids are ({@code [SEP]}, EOS)
     */
    public record Tokens(long[] ids, long[] typeIds, int specialPrefix, int specialSuffix) {
        public int length() {
            return ids.length;
        }
    }

    private Tokenizer(HuggingFaceTokenizer native_, String identity, long bos, long eos, long pad, Boolean addBos,
                      Boolean addEos) {
        this.native_ = native_;
        this.identity = identity;
        this.bos = bos;
        this.eos = eos;
        this.pad = pad;
        this.addBos = addBos;
        this.addEos = addEos;
    }

    /** Loads from a model folder (its {@code tokenizer.json} and config files) or a {@code tokenizer.json} file. */
    public static Tokenizer load(Path folderOrFile) {
        Path dir = Files.isDirectory(folderOrFile) ? folderOrFile : folderOrFile.toAbsolutePath().getParent();
        Path file = Files.isDirectory(folderOrFile) ? folderOrFile.resolve(FILE) : folderOrFile;
        if (!Files.isRegularFile(file)) {
            throw new DataException(file + ": no such file; a fast tokenizer's tokenizer.json is needed");
        }
        try {
            byte[] json = Files.readAllBytes(file);
            byte[] config = readIfPresent(dir.resolve(CONFIG));
            byte[] specials = readIfPresent(dir.resolve(SPECIAL_TOKENS));
            SpecialTokens named = SpecialTokens.read(dir, config, specials);
            Vocabulary vocab = named.isEmpty() ? null : Vocabulary.of(file, json);
            long bos = named.bos == null ? NONE : vocab.id(named.bos, "bos_token");
            long eos = named.eos == null ? NONE : vocab.id(named.eos, "eos_token");
            long pad = named.pad != null ? vocab.id(named.pad, "pad_token") : eos != NONE ? eos : 0;
            Torch.offline();
            HuggingFaceTokenizer hf = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(json),
                    NO_BUILT_IN_LIMITS);
            return new Tokenizer(hf, Sha256.ofParts(json, config, specials), bos, eos, pad, named.addBos, named.addEos);
        } catch (IOException | RuntimeException e) {
            if (e instanceof DataException d) {
                throw d;
            }
            throw new DataException(file + ": cannot load the tokenizer: " + e.getMessage(), e);
        }
    }

    /**
     * The tokenizer of a model folder; a folder without {@code tokenizer.json} still trains on pre-tokenised rows
     * ({@code input_ids}): then text rows are an error naming the missing file, and padding uses
     * {@code pad_token_id} from config.json, else 0.
     */
    public static Tokenizer forModel(Path folder, long configPadId) {
        if (Files.isRegularFile(folder.resolve(FILE))) {
            return load(folder);
        }
        return new Tokenizer(null, "pretokenised-only:" + folder.toAbsolutePath().normalize(), NONE, NONE,
                Math.max(0, configPadId), null, null);
    }

    private static byte[] readIfPresent(Path p) throws IOException {
        return Files.isRegularFile(p) ? Files.readAllBytes(p) : null;
    }

    /** A hash of the tokenizer's files: equal hashes tokenise alike (the key of the tokenised-data cache). */
    public String identity() {
        return identity;
    }

    public OptionalLong bosId() {
        return bos == NONE ? OptionalLong.empty() : OptionalLong.of(bos);
    }

    public OptionalLong eosId() {
        return eos == NONE ? OptionalLong.empty() : OptionalLong.of(eos);
    }

    /** The id padding positions get: the pad token's, else EOS's, else 0 (masked out either way). */
    public long padId() {
        return pad;
    }

    /** How many texts this tokenizer has encoded since it was loaded. */
    public long textsEncoded() {
        return encoded.get();
    }

    /** One text, with the tokenizer's special tokens or without them. */
    public Tokens encode(String text, boolean specialTokens) {
        return encodeAll(List.of(text), specialTokens).get(0);
    }

    /**
     * Many texts in one native call (the native side encodes them in parallel). Reads only ids, type ids and the
     * special-token mask from each native encoding: DJL's {@code Encoding} also copies tokens, word ids and character
     * spans, which doubles the cost of tokenising a data set.
     */
    public List<Tokens> encodeAll(List<String> texts, boolean specialTokens) {
        if (native_ == null) {
            throw new DataException("text rows need a tokenizer, and " + identity.substring(identity.indexOf(':') + 1)
                    + " has no " + FILE + " (give rows as {\"input_ids\": [...]} or add the model's tokenizer.json)");
        }
        long[] handles = TokenizersLibrary.LIB.batchEncode(native_.getHandle(), texts.toArray(String[]::new),
                specialTokens);
        List<Tokens> tokens = new ArrayList<>(handles.length);
        try {
            for (long h : handles) {
                long[] ids = TokenizersLibrary.LIB.getTokenIds(h);
                long[] types = TokenizersLibrary.LIB.getTypeIds(h);
                tokens.add(specialTokens
                        ? withConfiguredBosEos(ids, types, TokenizersLibrary.LIB.getSpecialTokenMask(h))
                        : new Tokens(ids, types, 0, 0));
            }
        } finally {
            for (long h : handles) {
                TokenizersLibrary.LIB.deleteEncoding(h);
            }
        }
        encoded.addAndGet(texts.size());
        return tokens;
    }

    private Tokens withConfiguredBosEos(long[] ids, long[] types, long[] special) {
        int n = ids.length;
        int prefix = 0;
        while (prefix < n && special[prefix] == 1) {
            prefix++;
        }
        int suffix = 0;
        while (suffix < n - prefix && special[n - 1 - suffix] == 1) {
            suffix++;
        }
        int from = 0;
        int to = n;
        boolean prependBos = false;
        boolean appendEos = false;
        if (addBos != null && bos != NONE) {
            boolean has = prefix > 0 && ids[0] == bos;
            if (has && !addBos) {
                from = 1;
                prefix--;
            } else if (!has && addBos) {
                prependBos = true;
                prefix++;
            }
        }
        if (addEos != null && eos != NONE) {
            boolean has = suffix > 0 && ids[n - 1] == eos;
            if (has && !addEos) {
                to = n - 1;
                suffix--;
            } else if (!has && addEos) {
                appendEos = true;
                suffix++;
            }
        }
        if (from == 0 && to == n && !prependBos && !appendEos) {
            return new Tokens(ids, types, prefix, suffix);
        }
        int len = (prependBos ? 1 : 0) + (to - from) + (appendEos ? 1 : 0);
        long[] outIds = new long[len];
        long[] outTypes = new long[len];
        int at = 0;
        if (prependBos) {
            outIds[at++] = bos;
        }
        System.arraycopy(ids, from, outIds, at, to - from);
        System.arraycopy(types, from, outTypes, at, to - from);
        if (appendEos) {
            outIds[len - 1] = eos;
            outTypes[len - 1] = to > from ? types[to - 1] : 0;
        }
        return new Tokens(outIds, outTypes, prefix, suffix);
    }

    @Override
    public void close() {
        if (native_ != null) {
            native_.close();
        }
    }

    /** The special-token settings of the two config files, the later file winning per entry. */
    private record SpecialTokens(String bos, String eos, String pad, Boolean addBos, Boolean addEos) {
        boolean isEmpty() {
            return bos == null && eos == null && pad == null;
        }

        static SpecialTokens read(Path dir, byte[] config, byte[] specialsMap) {
            JsonNode c = parse(dir.resolve(CONFIG), config);
            JsonNode m = parse(dir.resolve(SPECIAL_TOKENS), specialsMap);
            return new SpecialTokens(token(m, c, "bos_token"), token(m, c, "eos_token"), token(m, c, "pad_token"),
                    flag(c, "add_bos_token"), flag(c, "add_eos_token"));
        }

        private static JsonNode parse(Path p, byte[] bytes) {
            if (bytes == null) {
                return null;
            }
            try {
                JsonNode n = JsonlSource.JSON.readTree(bytes);
                if (!n.isObject()) {
                    throw new DataException(p + ": expected a JSON object");
                }
                return n;
            } catch (IOException e) {
                throw new DataException(p + ": invalid JSON: " + e.getMessage(), e);
            }
        }

        private static String token(JsonNode first, JsonNode second, String key) {
            String t = token(first, key);
            return t != null ? t : token(second, key);
        }

        /** A token written as a string or as an AddedToken object {@code {"content": ...}}. */
        private static String token(JsonNode n, String key) {
            JsonNode v = n == null ? null : n.get(key);
            if (v == null || v.isNull()) {
                return null;
            }
            if (v.isTextual()) {
                return v.textValue();
            }
            JsonNode content = v.get("content");
            return content != null && content.isTextual() ? content.textValue() : null;
        }

        private static Boolean flag(JsonNode n, String key) {
            JsonNode v = n == null ? null : n.get(key);
            return v != null && v.isBoolean() ? v.booleanValue() : null;
        }
    }

    /** Token-to-id lookup in tokenizer.json: added tokens first, then the model's vocabulary. */
    private record Vocabulary(Path file, JsonNode root) {
        static Vocabulary of(Path file, byte[] json) throws IOException {
            return new Vocabulary(file, JsonlSource.JSON.readTree(json));
        }

        long id(String token, String role) {
            for (JsonNode added : root.path("added_tokens")) {
                if (token.equals(added.path("content").asText(null))) {
                    return added.path("id").asLong();
                }
            }
            JsonNode vocab = root.path("model").path("vocab");
            if (vocab.isObject() && vocab.has(token)) {
                return vocab.get(token).asLong();
            }
            if (vocab.isArray()) { // Unigram: [[piece, score], ...], the id is the index
                for (int i = 0; i < vocab.size(); i++) {
                    if (token.equals(vocab.get(i).path(0).asText(null))) {
                        return i;
                    }
                }
            }
            throw new DataException(file + ": " + role + " \"" + token + "\" (from " + CONFIG + " or "
                    + SPECIAL_TOKENS + ") is neither an added token nor in the model's vocabulary");
        }
    }
}
