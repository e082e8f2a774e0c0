package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.lora.HostTensor;
import dev.lora4j.lora.PeftAdapters;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11, part D: what PEFT and transformers do silently or with a warning, lora4j does the same and says so, in
 * every command that loads a model or an adapter: a tied {@code lm_head} in {@code modules_to_save} (and
 * {@code ensure_weight_tying}), adapter tensors the config does not account for, checkpoint tensors the config does
 * not use. Warnings are {@code lora4j: warning: } lines on stderr; refusals follow the bad-input contract.
 */
class BadInputWarningsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path S2 = Cli.FIXTURES.resolve("tiny-llama-s2");
    private static final String P = "base_model.model.";
    private static final String TIED = "lora4j: warning: Model has `tie_word_embeddings=True` and a tied layer is"
            + " part of the adapter, but `ensure_weight_tying` is not set to True. This can lead to complications,"
            + " for example when merging the adapter or converting your model to formats other than safetensors."
            + " Check the discussion here: https://github.com/huggingface/peft/issues/2777";

    @TempDir Path tmp;

    /** The s2 model with config.json edited (the checkpoint is the fixture's). */
    private Path model(String name, Consumer<ObjectNode> edit) throws IOException {
        Path dir = tmp.resolve(name);
        Files.createDirectories(dir);
        ObjectNode c = (ObjectNode) JSON.readTree(S2.resolve("model/config.json").toFile());
        edit.accept(c);
        JSON.writeValue(dir.resolve("config.json").toFile(), c);
        Files.copy(S2.resolve("model/model.safetensors"), dir.resolve("model.safetensors"));
        return dir;
    }

    private Path tied() throws IOException {
        return model("tied", c -> c.put("tie_word_embeddings", true));
    }

    private Path trainConfig(String name, Path model, String lora) throws IOException {
        Path f = tmp.resolve(name + ".yaml");
        Files.writeString(f, String.join("\n", "name: " + name, "model: " + model, "task: CAUSAL_LM",
                "data: {train: " + S2.resolve("data.jsonl") + "}",
                "training: {learning_rate: 1.0e-2, max_steps: 2, batch_size: 4, seed: 3}", "lora: " + lora, ""));
        return f;
    }

    private static List<String> warnings(Cli.Result r) {
        assertFalse(r.err().contains("\tat ") || r.out().contains("\tat "), "no stack trace:\n" + r);
        return r.err().lines().filter(l -> l.startsWith("lora4j: warning: ")).toList();
    }

    private static JsonNode json(Path file) throws IOException {
        return JSON.readTree(file.toFile());
    }

    @Test
    void aTiedLmHeadInModulesToSaveWarnsInTrainEvalAndMergeAndIsTrainedAndSavedAsPeftDoes() throws IOException {
        Path model = tied();
        Path out = tmp.resolve("run");
        Cli.Result train = Cli.run("train", trainConfig("tied", model, "{target_modules: [q_proj], modules_to_save:"
                + " [lm_head]}"), "--out", out, "--threads", 1);
        assertEquals(0, train.code(), train.toString());
        assertEquals(List.of(TIED), warnings(train));
        Path adapter = out.resolve("adapter");
        Map<String, HostTensor> saved = PeftAdapters.readTensors(adapter);
        assertTrue(saved.containsKey(P + "lm_head.weight"), "lm_head is trained and saved: " + saved.keySet());
        assertFalse(saved.containsKey(P + "model.embed_tokens.weight"), saved.keySet().toString());
        assertEquals("[\"lm_head\"]", json(adapter.resolve(PeftAdapters.CONFIG)).get("modules_to_save").toString());

        Cli.Result eval = Cli.run("eval", "--model", model, "--adapter", adapter, "--data", S2.resolve("data.jsonl"));
        assertEquals(0, eval.code(), eval.toString());
        assertEquals(List.of(TIED), warnings(eval));

        Path merged = tmp.resolve("merged");
        Cli.Result merge = Cli.run("merge", "--model", model, "--adapter", adapter, "--out", merged);
        assertEquals(0, merge.code(), merge.toString());
        assertEquals(List.of(TIED), warnings(merge));
        assertFalse(json(merged.resolve("config.json")).get("tie_word_embeddings").asBoolean(),
                "the merged lm_head is a weight of its own");
        Cli.Result onBase = Cli.run("eval", "--model", model, "--adapter", adapter, "--data",
                S2.resolve("data.jsonl"), "--json");
        Cli.Result mergedEval = Cli.run("eval", "--model", merged, "--data", S2.resolve("data.jsonl"), "--json");
        assertEquals(List.of(), warnings(mergedEval), "the merged folder ties nothing and uses every tensor");
        assertEquals(JSON.readTree(onBase.out()).get("eval_loss").asDouble(),
                JSON.readTree(mergedEval.out()).get("eval_loss").asDouble(), 1e-5, "merged = adapter on its base");
    }

    @Test
    void ensureWeightTyingTrainsOneEmbeddingForBothAndSavesItUnderEachKey() throws IOException {
        Path model = tied();
        Path out = tmp.resolve("run");
        Cli.Result train = Cli.run("train", trainConfig("ensure", model, "{target_modules: [q_proj],"
                + " modules_to_save: [lm_head], ensure_weight_tying: true}"), "--out", out, "--threads", 1);
        assertEquals(0, train.code(), train.toString());
        assertEquals(List.of(), warnings(train));
        Path adapter = out.resolve("adapter");
        JsonNode config = json(adapter.resolve(PeftAdapters.CONFIG));
        assertEquals("[\"model.embed_tokens\"]", config.get("modules_to_save").toString(), "PEFT's saved config");
        assertTrue(config.get("ensure_weight_tying").asBoolean());
        Map<String, HostTensor> saved = PeftAdapters.readTensors(adapter);
        assertArrayEquals(saved.get(P + "model.embed_tokens.weight").data(), saved.get(P + "lm_head.weight").data());

        Path merged = tmp.resolve("merged");
        Cli.Result merge = Cli.run("merge", "--model", model, "--adapter", adapter, "--out", merged);
        assertEquals(0, merge.code(), merge.toString());
        assertEquals(List.of(), warnings(merge));
        assertTrue(json(merged.resolve("config.json")).get("tie_word_embeddings").asBoolean(), "still tied");
    }

    @Test
    void ensureWeightTyingOnAModelWithoutTiesWarnsAsPeftDoes() throws IOException {
        Cli.Result train = Cli.run("train", trainConfig("untied", S2.resolve("model"), "{target_modules: [q_proj],"
                + " ensure_weight_tying: true}"), "--out", tmp.resolve("run"), "--threads", 1);
        assertEquals(0, train.code(), train.toString());
        assertEquals(List.of("lora4j: warning: You have requested `ensure_weight_tying`, but no tied modules were"
                + " found in the model"), warnings(train));
    }

    @Test
    void ensureWeightTyingWithATiedLayerInTargetModulesIsRefused() throws IOException {
        Path config = trainConfig("target", tied(), "{target_modules: [q_proj, lm_head], ensure_weight_tying: true}");
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"train", config, "--out", tmp.resolve("run")},
                "ensure_weight_tying with a tied layer in target_modules", "lm_head", "not supported by lora4j yet",
                "set ensure_weight_tying to false");
    }

    @Test
    void ensureWeightTyingMustBeTrueOrFalse() throws IOException {
        Path config = trainConfig("quoted", S2.resolve("model"), "{target_modules: [q_proj], ensure_weight_tying:"
                + " \"yes\"}");
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"train", config, "--out", tmp.resolve("run")},
                config.toString(), "lora.ensure_weight_tying", "must be true or false", "\"yes\"");
    }

    @Test
    void aSweepSaysEachWarningOnceWithTheTrialThatFirstHadIt() throws IOException {
        Path model = model("tied-1layer", c -> c.put("tie_word_embeddings", true).put("num_hidden_layers", 1));
        Path spec = tmp.resolve("sweep.yaml");
        Files.writeString(spec, String.join("\n", "name: tied-sweep", "model: " + model, "task: CAUSAL_LM",
                "data: {train: " + S2.resolve("data.jsonl") + "}",
                "training: {learning_rate: 1.0e-2, max_steps: 2, batch_size: 4, seed: 3}",
                "lora: {target_modules: [q_proj], modules_to_save: [lm_head]}", "method: grid",
                "metric: {name: train_loss, goal: minimize}", "parameters:", "  r: {values: [2, 4, 8]}",
                "resources: {devices: [cpu], max_failures: 0}", ""));
        Cli.Result r = Cli.run("sweep", spec, "--out", tmp.resolve("run"), "--cpu-lanes", 2);
        assertEquals(0, r.code(), r.toString());
        List<String> w = warnings(r);
        assertEquals(2, w.size(), r.err());
        assertEquals(1, w.stream().filter(l -> l.matches("lora4j: warning: trial r[248]: Some weights of the model"
                + " checkpoint at .*tied-1layer were not used when initializing LlamaForCausalLM: \\['model\\.layers"
                + "\\.1\\.input_layernorm\\.weight', .*")).count(), r.err());
        assertEquals(1, w.stream().filter(l -> l.matches("lora4j: warning: trial r[248]: " + java.util.regex.Pattern
                .quote(TIED.substring("lora4j: warning: ".length())))).count(), r.err());
    }

    /** The qv fixture adapter with its config edited. */
    private Path adapter(Consumer<ObjectNode> edit) throws IOException {
        Path dir = tmp.resolve("adapter");
        Files.createDirectories(dir);
        ObjectNode c = (ObjectNode) JSON.readTree(S2.resolve("adapters/qv/adapter_config.json").toFile());
        edit.accept(c);
        JSON.writeValue(dir.resolve(PeftAdapters.CONFIG).toFile(), c);
        Files.copy(S2.resolve("adapters/qv").resolve(PeftAdapters.WEIGHTS), dir.resolve(PeftAdapters.WEIGHTS));
        return dir;
    }

    @Test
    void adapterTensorsTheConfigDoesNotTargetAreNamedInEvalAndMerge() throws IOException {
        Path adapter = adapter(c -> c.putArray("target_modules").add("q_proj"));
        String expected = "lora4j: warning: Loading adapter weights from " + adapter + " led to unexpected keys not"
                + " found in the model: ['" + P + "model.layers.0.self_attn.v_proj.lora_A.weight', '" + P
                + "model.layers.0.self_attn.v_proj.lora_B.weight', '" + P + "model.layers.1.self_attn.v_proj.lora_A"
                + ".weight', '" + P + "model.layers.1.self_attn.v_proj.lora_B.weight'] (adapter_config.json does not"
                + " target or save these modules; lora4j ignores these tensors, as PEFT does)";
        Cli.Result eval = Cli.run("eval", "--model", S2.resolve("model"), "--adapter", adapter, "--data",
                S2.resolve("data.jsonl"));
        assertEquals(0, eval.code(), eval.toString());
        assertEquals(List.of(expected), warnings(eval));
        Cli.Result merge = Cli.run("merge", "--model", S2.resolve("model"), "--adapter", adapter, "--out",
                tmp.resolve("merged"));
        assertEquals(0, merge.code(), merge.toString());
        assertEquals(List.of(expected), warnings(merge));
    }

    @Test
    void aModulesToSaveTensorTheAdapterFileLacksIsRefused() throws IOException {
        Path adapter = adapter(c -> c.putArray("modules_to_save").add("lm_head"));
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"merge", "--model", S2.resolve("model"), "--adapter",
            adapter, "--out", tmp.resolve("merged")}, adapter.resolve(PeftAdapters.WEIGHTS) + " has no "
                + P + "lm_head.weight", "modules_to_save [lm_head]");
        assertFalse(Files.exists(tmp.resolve("merged")));
        BadInput.assertRefusedLeaving(tmp, 2, new Object[] {"eval", "--model", S2.resolve("model"), "--adapter",
            adapter, "--data", S2.resolve("data.jsonl")}, P + "lm_head.weight");
    }

    @Test
    void checkpointTensorsTheConfigDoesNotUseAreNamedInEvalTrainAndMerge() throws IOException {
        Path model = model("zero", c -> c.put("num_hidden_layers", 0));
        String start = "lora4j: warning: Some weights of the model checkpoint at " + model + " were not used when"
                + " initializing LlamaForCausalLM: ['model.layers.0.input_layernorm.weight', ";
        Cli.Result eval = Cli.run("eval", "--model", model, "--data", S2.resolve("data.jsonl"));
        assertEquals(0, eval.code(), eval.toString());
        List<String> w = warnings(eval);
        assertEquals(1, w.size(), eval.err());
        assertTrue(w.get(0).startsWith(start) && w.get(0).contains(", ... (8 more)]; this IS expected if the"
                + " checkpoint is of another task or architecture, NOT if it should be this very model"), w.get(0));

        Cli.Result train = Cli.run("train", trainConfig("zero", model, "{target_modules: [lm_head]}"), "--out",
                tmp.resolve("run"), "--threads", 1);
        assertEquals(0, train.code(), train.toString());
        assertEquals(w, warnings(train));

        Cli.Result merge = Cli.run("merge", "--model", model, "--adapter", tmp.resolve("run/adapter"), "--out",
                tmp.resolve("merged"));
        assertEquals(0, merge.code(), merge.toString());
        assertEquals(w, warnings(merge));
    }
}
