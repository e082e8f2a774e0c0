package dev.lora4j.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.Fixtures;
import dev.lora4j.lora.HostTensor;
import dev.lora4j.lora.PeftAdapters;
import dev.lora4j.run.RunSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one-call jobs against the fixtures' reference numbers. */
class EngineTest {
    static final Path S2 = Fixtures.tinyLlama("s2");

    static double expected(String adapter) throws IOException {
        return new ObjectMapper().readTree(S2.resolve("expected.json").toFile()).get(adapter).asDouble();
    }

    @Test
    void evaluatingAPeftAdapterIsOneCall() throws IOException {
        Engine.Evaluation e = Engine.evaluate(S2.resolve("model").toString(), S2.resolve("adapters/dora"),
                S2.resolve("data.jsonl"));
        assertEquals(expected("dora"), e.loss(), expected("dora") * 1e-5);
        assertTrue(e.perplexity().isPresent());
        assertFalse(e.accuracy().isPresent());
        assertEquals(expected("base"), Engine.evaluate(S2.resolve("model").toString(), S2.resolve("data.jsonl"))
                .loss(), expected("base") * 1e-5);
    }

    @Test
    void aMergedFolderEvaluatesLikeItsAdapter(@TempDir Path tmp) throws IOException {
        Path merged = Engine.merge(S2.resolve("model").toString(), S2.resolve("adapters/patterns"),
                tmp.resolve("merged"));
        assertEquals(expected("patterns"), Engine.evaluate(merged.toString(), S2.resolve("data.jsonl")).loss(),
                expected("patterns") * 1e-5);
    }

    @Test
    void aMergeRefusesItsModelFolderAndANonEmptyFolderUnlessForced(@TempDir Path tmp) throws IOException {
        Path model = Files.createDirectories(tmp.resolve("m"));
        Files.copy(S2.resolve("model/config.json"), model.resolve("config.json"));
        Files.copy(S2.resolve("model/model.safetensors"), model.resolve("model.safetensors"));
        Engine.Merge into = Engine.Merge.of(model.toString(), S2.resolve("adapters/qv"), model).withForce(true);
        assertEquals("out folder " + model + " is the model folder " + model + ": a merge never writes into its base"
                + " model's folder; choose another out folder", assertThrows(IllegalArgumentException.class,
                () -> Engine.merge(into)).getMessage());
        Path out = Files.createDirectories(tmp.resolve("out"));
        Files.writeString(out.resolve("notes.txt"), "mine");
        Engine.Merge merge = Engine.Merge.of(model.toString(), S2.resolve("adapters/qv"), out);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Engine.merge(merge)).getMessage()
                .contains("pass Merge.withForce(true) to replace the files a merge writes"));
        assertEquals(out, Engine.merge(merge.withForce(true)));
        assertEquals("mine", Files.readString(out.resolve("notes.txt")));
        assertEquals(expected("qv"), Engine.evaluate(out.toString(), S2.resolve("data.jsonl")).loss(),
                expected("qv") * 1e-5);
    }

    @Test
    void threadsAndLanesAreBoundedByTheCores(@TempDir Path tmp) throws IOException {
        int cores = Runtime.getRuntime().availableProcessors();
        Files.writeString(tmp.resolve("t.yaml"), String.join("\n", "name: t", "model: " + S2.resolve("model"),
                "task: CAUSAL_LM", "data: {train: " + S2.resolve("data.jsonl") + "}", "training: {max_steps: 1}",
                "lora: {target_modules: [q_proj]}", ""));
        Engine.Train train = Engine.Train.of(RunSpec.read(tmp.resolve("t.yaml")).value(), tmp.resolve("run"));
        assertEquals("threads must be 0 (libtorch's default) to " + cores + " (this machine's cores), got "
                + (cores + 1), assertThrows(IllegalArgumentException.class, () -> train.withThreads(cores + 1))
                .getMessage());
        assertThrows(IllegalArgumentException.class, () -> train.withThreads(-1));
        assertEquals(cores, train.withThreads(cores).threads());
        SweepOptions o = SweepOptions.in(tmp);
        assertEquals("cpuLanes must be 0 (one per core) to " + cores + " (this machine's cores), got 100000",
                assertThrows(IllegalArgumentException.class, () -> o.withCpu(100_000, 1)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> o.withCpu(-1, 1));
        assertThrows(IllegalArgumentException.class, () -> o.withCpu(1, 0));
        assertThrows(IllegalArgumentException.class, () -> o.withCpu(1, cores + 1));
        assertThrows(IllegalArgumentException.class, () -> o.keepingCheckpoints(-1));
        // an out folder that is a file is refused before the model is loaded
        Path file = Files.writeString(tmp.resolve("afile"), "mine");
        assertEquals("out folder " + file + " is a file, not a folder", assertThrows(IllegalArgumentException.class,
                () -> Engine.train(Engine.Train.of(train.config(), file))).getMessage());
        assertEquals("run folder " + file + " is a file, not a folder", assertThrows(IllegalArgumentException.class,
                () -> RunLock.acquire(file)).getMessage());
    }

    @Test
    void inspectReadsAnAdapterWithoutItsModel() {
        Engine.AdapterInfo info = Engine.inspect(S2.resolve("adapters/qv"));
        assertFalse(info.modules().isEmpty());
        assertTrue(info.modules().stream().allMatch(m -> m.module().endsWith("q_proj")
                || m.module().endsWith("v_proj")), info.modules().toString());
        assertEquals(info.config().r(), info.modules().get(0).rank());
    }

    @Test
    void trainingOneConfigAndStoppingItResumeToTheSameAdapter(@TempDir Path tmp) throws IOException {
        Path config = tmp.resolve("train.yaml");
        Files.writeString(config, String.join("\n", "name: one", "model: " + S2.resolve("model"),
                "task: CAUSAL_LM", "data: {train: " + S2.resolve("data.jsonl") + "}",
                "training: {learning_rate: 5.0e-3, max_steps: 8, batch_size: 4, seed: 2}",
                "lora: {target_modules: [q_proj, v_proj], lora_dropout: 0.1}", ""));
        Engine.Training straight = Engine.train(config, tmp.resolve("straight"));
        assertTrue(straight.finished());
        assertEquals(8, straight.steps());
        RunSpec run = RunSpec.read(config).value();
        int[] steps = {0};
        Engine.Training stopped = Engine.train(Engine.Train.of(run, tmp.resolve("two")).withThreads(1)
                .listenedBy(new dev.lora4j.train.TrainListener() {
                    @Override
                    public void onStep(dev.lora4j.train.StepReport r) {
                        steps[0]++;
                    }
                }).stoppedWhen(() -> steps[0] == 3));
        assertFalse(stopped.finished());
        assertEquals(3, stopped.steps());
        assertTrue(Files.isDirectory(stopped.checkpoint()), "stopped after a checkpoint");
        assertThrows(IllegalArgumentException.class, () -> Engine.train(Engine.Train.of(run, tmp.resolve("two"))),
                "a folder that holds a run is not overwritten");
        Engine.Training resumed = Engine.train(Engine.Train.of(run, tmp.resolve("two")).resuming(true));
        assertEquals(8, resumed.steps());
        Map<String, HostTensor> a = PeftAdapters.readTensors(straight.adapter());
        Map<String, HostTensor> b = PeftAdapters.readTensors(resumed.adapter());
        a.forEach((k, v) -> assertArrayEquals(v.data(), b.get(k).data(), 1e-6f, k));
    }
}
