package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.Fixtures;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.TargetModules;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.HfModels;
import dev.lora4j.runtime.GradMode;
import dev.lora4j.runtime.Ops;
import dev.lora4j.train.CausalLmEval;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PEFT's weight tying (tuners_utils.py {@code _check_tied_modules}, lora/model.py {@code _add_modules_to_save_to_tie},
 * other.py {@code ModulesToSaveWrapper}) on a Llama with {@code tie_word_embeddings}: warnings, what is trained,
 * what is saved, what a merge gives.
 */
class WeightTyingTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String P = "base_model.model.";
    private static final long VOCAB_BY_HIDDEN = 101 * 64;
    /** r 8 on q_proj (64 -> 64) in two layers. */
    private static final long LORA_Q = 2 * (8 * 64 + 64 * 8);

    @TempDir Path tmp;

    /** The s2 fixture model with config.json edited; the checkpoint is the fixture's. */
    static Path variant(Path dir, Consumer<ObjectNode> edit) {
        try {
            Path s2 = Fixtures.tinyLlama("s2").resolve("model");
            Files.createDirectories(dir);
            ObjectNode c = (ObjectNode) JSON.readTree(s2.resolve("config.json").toFile());
            edit.accept(c);
            JSON.writeValue(dir.resolve("config.json").toFile(), c);
            Files.createSymbolicLink(dir.resolve("model.safetensors"), s2.resolve("model.safetensors")
                    .toAbsolutePath());
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Path tied() {
        return variant(tmp.resolve("tied"), c -> c.put("tie_word_embeddings", true));
    }

    private static LoraConfig.Builder q() {
        return LoraConfig.builder().targetModules("q_proj");
    }

    private static void fill(NDArray a, float v) {
        try (GradMode g = GradMode.off(); Ops ops = Ops.scope(a.getManager())) {
            Ops.assign(a, ops.addScalar(ops.scale(a, 0), v));
        }
    }

    private static List<long[]> rows() {
        return Fixtures.rows(Fixtures.tinyLlama("s2").resolve("data.jsonl"));
    }

    @Test
    void aTiedLmHeadInModulesToSaveWarnsAndTrainsACopyOfItsOwn() {
        try (BaseModel base = HfModels.load(tied())) {
            assertEquals(Map.of("lm_head.weight", "model.embed_tokens.weight"), base.architecture().aliases());
            try (Adapter ad = Adapter.create(base, q().modulesToSave(List.of("lm_head")).build(), 0)) {
                assertEquals(List.of(Adapter.TIED_LAYER_WARNING), ad.warnings());
                assertTrue(ad.overrides().containsKey("lm_head.weight"), "PEFT deep-copies lm_head");
                assertFalse(ad.overrides().containsKey("model.embed_tokens.weight"), "the embeddings stay frozen");
                assertArrayEquals(base.weight("model.embed_tokens.weight").toFloatArray(),
                        ad.override("lm_head.weight").toFloatArray(), "the copy starts as the tied weight");
                assertEquals(VOCAB_BY_HIDDEN + LORA_Q, ad.trainableCount());
                assertTrue(ad.snapshot().tensors().containsKey(P + "lm_head.weight"));
                assertEquals(List.of("lm_head"), ad.modulesToSave());
                assertEquals(List.of("lm_head"), ad.config().modulesToSave().orElseThrow());
                // the head computes with the copy: a zero head gives uniform logits
                fill(ad.override("lm_head.weight"), 0);
                assertEquals(Math.log(101), CausalLmEval.evaluate(base, ad, rows(), 4).loss(), 1e-5);
                try (MergedWeights mw = MergedWeights.of(ad)) {
                    assertTrue(mw.untied(), "the merged model's lm_head is its own weight");
                    assertArrayEquals(new float[(int) VOCAB_BY_HIDDEN], mw.weights().get("lm_head.weight")
                            .toFloatArray());
                    assertArrayEquals(base.weight("model.embed_tokens.weight").toFloatArray(),
                            mw.weights().get("model.embed_tokens.weight").toFloatArray());
                }
            }
        }
    }

    @Test
    void tiedEmbeddingsInModulesToSaveLeaveLmHeadOnTheFrozenWeight() {
        try (BaseModel base = HfModels.load(tied());
                Adapter ad = Adapter.create(base, q().modulesToSave(List.of("embed_tokens")).build(), 0)) {
            assertEquals(List.of(Adapter.TIED_LAYER_WARNING), ad.warnings());
            assertNull(ad.override("lm_head.weight"), "PEFT's lm_head keeps the original weight");
            fill(ad.override("model.embed_tokens.weight"), 0);
            try (MergedWeights mw = MergedWeights.of(ad)) {
                assertTrue(mw.untied());
                assertArrayEquals(base.weight("model.embed_tokens.weight").toFloatArray(),
                        mw.weights().get("lm_head.weight").toFloatArray(), "lm_head is the untrained weight");
                assertArrayEquals(new float[(int) VOCAB_BY_HIDDEN],
                        mw.weights().get("model.embed_tokens.weight").toFloatArray());
            }
        }
    }

    @Test
    void ensureWeightTyingTrainsOneCopyForBothAndSavesItUnderEachKey() throws IOException {
        LoraConfig c = q().modulesToSave(List.of("lm_head")).extra("ensure_weight_tying",
                JSON.getNodeFactory().booleanNode(true)).build();
        try (BaseModel base = HfModels.load(tied()); Adapter ad = Adapter.create(base, c, 0)) {
            assertEquals(List.of(), ad.warnings());
            assertEquals(List.of("model.embed_tokens"), ad.config().modulesToSave().orElseThrow(),
                    "the embeddings join modules_to_save and lm_head leaves it, as PEFT saves the config");
            assertSame(ad.override("model.embed_tokens.weight"), ad.override("lm_head.weight"));
            assertEquals(Map.of(P + "lm_head.weight", P + "model.embed_tokens.weight"), ad.savedAliases());
            assertEquals(VOCAB_BY_HIDDEN + LORA_Q, ad.trainableCount(), "one tensor, counted once");
            AdapterSnapshot snap = ad.snapshot();
            assertArrayEquals(snap.tensors().get(P + "model.embed_tokens.weight").data(),
                    snap.tensors().get(P + "lm_head.weight").data());
            fill(ad.override("lm_head.weight"), 0.5f);
            try (MergedWeights mw = MergedWeights.of(ad)) {
                assertFalse(mw.untied(), "still tied");
                assertFalse(mw.weights().containsKey("lm_head.weight"));
            }
            Path saved = tmp.resolve("adapter");
            PeftAdapters.save(ad, saved);
            PeftAdapters.LoadedAdapter back = PeftAdapters.load(base, saved, false);
            try (Adapter b = back.adapter()) {
                assertEquals(List.of(), back.warnings());
                assertEquals(List.of(), back.unexpectedKeys());
                assertSame(b.override("model.embed_tokens.weight"), b.override("lm_head.weight"));
                assertEquals(0.5f, b.override("lm_head.weight").toFloatArray()[7]);
            }
        }
    }

    @Test
    void warnsWherePeftWarns() {
        Path untied = variant(tmp.resolve("untied"), c -> { });
        com.fasterxml.jackson.databind.node.BooleanNode yes = JSON.getNodeFactory().booleanNode(true);
        try (BaseModel tied = HfModels.load(tied()); BaseModel plain = HfModels.load(untied)) {
            assertEquals(List.of("You have requested `ensure_weight_tying`, but no tied modules were found in the"
                    + " model"), warnings(plain, q().extra("ensure_weight_tying", yes).build()));
            assertEquals(List.of("You have requested `ensure_weight_tying`, but no tied modules are added in either"
                    + " `modules_to_save` or `target_modules`"), warnings(tied, q().extra("ensure_weight_tying", yes)
                    .build()));
            assertEquals(List.of(), warnings(plain, q().modulesToSave(List.of("lm_head")).build()),
                    "nothing is tied");
            assertEquals(List.of(), warnings(tied, q().build()));
            assertEquals(List.of(Adapter.TIED_LAYER_WARNING), warnings(tied, LoraConfig.builder()
                    .targetModules("q_proj", "lm_head").build()));
            assertEquals(List.of(Adapter.TIED_LAYER_WARNING), warnings(tied, LoraConfig.builder()
                    .targetModules(new TargetModules.Regex(".*(q_proj|lm_head)")).build()));
            // PEFT full-matches a regex against the bare names embed_tokens and lm_head, not against the keys
            assertEquals(List.of(), warnings(tied, LoraConfig.builder()
                    .targetModules(new TargetModules.Regex("(model\\.layers\\..*q_proj|model\\.embed_tokens)"))
                    .build()));
            LoraException e = assertThrows(LoraException.class, () -> Adapter.create(tied, LoraConfig.builder()
                    .targetModules("q_proj", "lm_head").extra("ensure_weight_tying", yes).build(), 0).close());
            assertTrue(e.getMessage().startsWith("ensure_weight_tying with a tied layer in target_modules"),
                    e.getMessage());
        }
    }

    private static List<String> warnings(BaseModel base, LoraConfig c) {
        try (Adapter ad = Adapter.create(base, c, 0)) {
            return ad.warnings();
        }
    }

    @Test
    void pissaOnATiedLmHeadRewritesTheSharedWeight() {
        try (BaseModel base = HfModels.load(tied()); Adapter ad = Adapter.create(base, LoraConfig.builder()
                .targetModules("lm_head").initLoraWeights("pissa").build(), 0)) {
            // PEFT assigns the residual to weight.data of the one parameter both modules hold
            assertSame(ad.override("model.embed_tokens.weight"), ad.override("lm_head.weight"));
            assertNotSame(base.weight("lm_head.weight"), ad.override("lm_head.weight"));
        }
    }
}
