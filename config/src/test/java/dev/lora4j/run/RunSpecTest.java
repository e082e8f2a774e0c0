package dev.lora4j.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.config.ConfigError;
import dev.lora4j.config.ConfigException;
import dev.lora4j.config.Fixtures;
import dev.lora4j.config.Loaded;
import dev.lora4j.config.TaskType;
import dev.lora4j.config.TargetModules;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunSpecTest {
    @TempDir Path dir;

    private Path write(String name, String yaml) throws IOException {
        Path f = dir.resolve(name);
        Files.createDirectories(f.getParent());
        Files.writeString(f, yaml);
        return f;
    }

    private List<String> errors(String yaml) throws IOException {
        Path f = write("run.yaml", yaml);
        ConfigException e = assertThrows(ConfigException.class, () -> RunSpec.read(f));
        return e.errors().stream().map(ConfigError::toString).toList();
    }

    private static String fixtures() {
        return Fixtures.dir().toString();
    }

    @Test
    void exampleTrainConfigReads() {
        Path example = Fixtures.dir().getParent().resolve("examples/train/llama-qv.yaml");
        Loaded<RunSpec> loaded = RunSpec.read(example);
        RunSpec r = loaded.value();
        assertEquals(List.of(), loaded.warnings());
        assertEquals("llama-qv", r.name());
        assertEquals(Fixtures.dir().resolve("tiny-llama-s2/model"), r.model().path());
        assertFalse(r.model().isBuiltin());
        assertEquals(Fixtures.dir().resolve("tiny-llama-s2/data.jsonl"), r.data().train());
        assertEquals(DataFormat.JSONL, r.data().format());
        assertEquals(TaskType.CAUSAL_LM, r.task());
        assertEquals(Optional.of("CAUSAL_LM"), r.lora().taskType());
        assertEquals(8, r.lora().r());
        assertEquals(TargetModules.Names.of("q_proj", "v_proj"), r.lora().targetModules().orElseThrow());
        assertEquals(40, r.training().maxSteps());
        assertEquals("llama-qv: LORA r=8 alpha=16 targets=[q_proj, v_proj] dropout=0.05 task=CAUSAL_LM, model "
                + "../../fixtures/tiny-llama-s2/model, 40 steps", r.summary());
    }

    @Test
    void pathsAreRelativeToTheFileAndDefaultsApply() throws IOException {
        Path sub = dir.resolve("a/b");
        Files.createDirectories(sub);
        Files.copy(Fixtures.dir().resolve("tiny-llama-s2/data.jsonl"), dir.resolve("a/train.jsonl"));
        Path f = write("a/b/run.yaml", "model: builtin:all-minilm-l6-v2\ndata:\n  train: ../train.jsonl\n");
        RunSpec r = RunSpec.read(f).value();
        assertEquals("run", r.name());
        assertTrue(r.model().isBuiltin());
        assertEquals("builtin:all-minilm-l6-v2", r.model().text());
        assertEquals(dir.resolve("a/train.jsonl").toAbsolutePath().normalize(), r.data().train());
        assertEquals("text", r.data().textField());
        assertEquals("label", r.data().labelField());
        assertEquals(512, r.data().maxLength());
        assertEquals(TaskType.CAUSAL_LM, r.task());
        assertEquals(TrainingConfig.defaults(), r.training());
        assertEquals(8, r.lora().r());
        assertTrue(r.resources().autoDevices());
        assertThrows(UnsupportedOperationException.class, () -> r.model().path());
    }

    @Test
    void missingFilesAreReportedWithTheirPaths() throws IOException {
        List<String> e = errors("model: nope/model\ndata:\n  train: missing.jsonl\n  eval: " + fixtures()
                + "/tiny-llama-s2/data.jsonl\n");
        assertEquals(List.of(
                "model: no such model folder: " + dir.resolve("nope/model"),
                "data.train: no such file: " + dir.resolve("missing.jsonl")), e);
    }

    @Test
    void modelFolderMustBeAHuggingFaceFolder() throws IOException {
        Files.createDirectories(dir.resolve("empty"));
        assertEquals(List.of("model: " + dir.resolve("empty") + " is not a Hugging Face model folder: it has no "
                + "config.json"), errors("model: empty\ndata: {train: " + fixtures() + "/tiny-llama-s2/data.jsonl}\n"));
    }

    @Test
    void requiredSectionsAndUnknownKeys() throws IOException {
        assertEquals(List.of(
                "modle: unknown key; did you mean 'model'?",
                "model: missing: a Hugging Face model folder (relative to this file) or builtin:NAME",
                "data: missing: a mapping with at least train: <file>",
                "lora.r: r must be >= 1, got 0"),
                errors("modle: x\nlora: {r: 0}\n"));
    }

    @Test
    void formatIsInferredOrMustBeGiven() throws IOException {
        Path data = write("rows.txt", "a\n");
        assertEquals(List.of("data.format: cannot tell the format of rows.txt from its extension: set format to "
                + "\"jsonl\" or \"csv\""), errors("model: builtin:all-minilm-l6-v2\ndata: {train: " + data + "}\n"));
        Path csv = write("rows.csv", "text,label\n");
        RunSpec r = RunSpec.read(write("ok.yaml", "model: builtin:all-minilm-l6-v2\ntask: SEQ_CLS\n"
                + "data: {train: rows.csv, labels: [neg, pos]}\n")).value();
        assertEquals(DataFormat.CSV, r.data().format());
        assertEquals(List.of("neg", "pos"), r.data().labels());
        assertEquals(csv.toAbsolutePath(), r.data().train());
    }

    @Test
    void taskAndLoraTaskTypeMustAgree() throws IOException {
        String data = "data: {train: " + fixtures() + "/tiny-llama-s2/data.jsonl}\n";
        assertEquals(List.of("lora.task_type: task_type \"SEQ_CLS\" contradicts task \"CAUSAL_LM\"; set task only"),
                errors("model: builtin:all-minilm-l6-v2\ntask: CAUSAL_LM\nlora: {task_type: SEQ_CLS}\n" + data));
        assertEquals(List.of("task: Invalid task type: 'causal_lm'. Must be one of the following task types: SEQ_CLS, "
                + "SEQ_2_SEQ_LM, CAUSAL_LM, TOKEN_CLS, QUESTION_ANS, FEATURE_EXTRACTION."),
                errors("model: builtin:all-minilm-l6-v2\ntask: causal_lm\n" + data));
        RunSpec fromLora = RunSpec.read(write("l.yaml", "model: builtin:all-minilm-l6-v2\n"
                + "lora: {task_type: SEQ_CLS}\n" + data)).value();
        assertEquals(TaskType.SEQ_CLS, fromLora.task());
    }

    @Test
    void trialsPerDeviceMayBeAuto() throws IOException {
        String base = "model: builtin:all-minilm-l6-v2\ndata: {train: " + fixtures() + "/tiny-llama-s2/data.jsonl}\n";
        RunSpec auto = RunSpec.read(write("a.yaml", base + "resources: {trials_per_device: auto}\n")).value();
        assertTrue(auto.resources().autoTrialsPerDevice());
        assertEquals(1, auto.resources().trialsPerDevice(), "code that does not ask for auto plans one trial");
        assertEquals("auto", auto.toTree().get("resources").get("trials_per_device").asText());
        assertFalse(RunSpec.read(write("b.yaml", base)).value().resources().autoTrialsPerDevice());
        assertEquals(List.of("resources.trials_per_device: trials_per_device must be an integer >= 1 or \"auto\" (as"
                + " many as fit in the device's memory), got \"max\""),
                errors(base + "resources: {trials_per_device: max}\n"));
    }

    @Test
    void packingIsForCausalLanguageModels() throws IOException {
        String data = "data: {train: " + fixtures() + "/tiny-llama-s2/data.jsonl}\n";
        assertEquals(List.of("training.packing: packing concatenates causal-LM rows into full-length sequences; task"
                + " is SEQ_CLS: set packing: false (allowed only with task CAUSAL_LM)"),
                errors("model: builtin:all-minilm-l6-v2\ntask: SEQ_CLS\ntraining: {packing: true}\n" + data));
        assertTrue(RunSpec.read(write("p.yaml", "model: builtin:all-minilm-l6-v2\ntask: CAUSAL_LM\n"
                + "training: {packing: true, group_by_length: true, gradient_checkpointing: true}\n" + data)).value()
                .training().packing());
    }

    @Test
    void earlyStoppingNeedsEvalDataAndResourcesAreChecked() throws IOException {
        assertEquals(List.of(
                "resources.devices[0]: a device is \"cpu\" or \"gpu:N\" (N = 0, 1, ...), got \"cuda:0\"",
                "resources.devices[2]: gpu:1 is listed twice; use trials_per_device to run several trials on it",
                "resources.trials_per_device: trials_per_device must be >= 1 or \"auto\" (as many as fit in the device's"
                        + " memory), got 0",
                "training.early_stopping_patience: early stopping watches the evaluation loss: set data.eval, or "
                        + "early_stopping_patience: null"),
                errors("model: builtin:all-minilm-l6-v2\ndata: {train: " + fixtures() + "/tiny-llama-s2/data.jsonl}\n"
                        + "training: {early_stopping_patience: 2}\n"
                        + "resources: {devices: [cuda:0, gpu:1, gpu:1], trials_per_device: 0}\n"));
        RunSpec ok = RunSpec.read(write("r.yaml", "model: builtin:all-minilm-l6-v2\ndata: {train: " + fixtures()
                + "/tiny-llama-s2/data.jsonl}\nresources: {devices: [cpu, gpu:0], max_failures: 2}\n")).value();
        assertEquals(List.of(Device.CPU, Device.gpu(0)), ok.resources().devices());
        assertEquals(2, ok.resources().maxFailures().getAsInt());
    }
}
