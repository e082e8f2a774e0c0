package dev.lora4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.Fixtures;
import dev.lora4j.RandomModels;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.TargetModules;
import dev.lora4j.config.TaskType;
import dev.lora4j.data.Batch;
import dev.lora4j.data.Example;
import dev.lora4j.lora.Adapter;
import dev.lora4j.lora.Parameter;
import dev.lora4j.lora.PeftAdapters;
import dev.lora4j.model.Attention;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.Dropout;
import dev.lora4j.model.Forward;
import dev.lora4j.model.HfModels;
import dev.lora4j.model.LayerTape;
import dev.lora4j.runtime.GradMode;
import dev.lora4j.runtime.Ops;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Gradient checkpointing and attention in query blocks give the gradients of one plain backward pass, for every
 * architecture (Llama with grouped queries, Mistral's sliding window, Qwen3's normed heads and sliding layers, Phi-3's
 * fused projections with LongRoPE and residual dropout, a Llama classifier, BERT and RoBERTa classifiers
 * with attention dropout), LoRA, rsLoRA and DoRA, an adapted embedding and {@code modules_to_save}, dropout
 * everywhere (the recomputed layers must redraw the same masks, or the gradients would differ by far more than
 * rounding), in fp32 and fp16.
 */
class GradientCheckpointingTest {
    /** Queries per block in these tests: sequences of 29 to 40 tokens make two or three blocks. */
    static final int BLOCK = 16;

    enum Pass {
        /** One backward pass through the whole graph, whole attention: the reference. */
        PLAIN,
        /** Layers keep their graphs; attention in blocks, recomputed in backward. */
        BLOCKS,
        /** Gradient checkpointing with attention in blocks (what {@code gradient_checkpointing: true} runs). */
        CHECKPOINTED,
        /** Gradient checkpointing with whole attention. */
        CHECKPOINTED_WHOLE
    }

    static Stream<Arguments> cases() {
        LoraConfig lora = LoraConfig.builder().targetModules(new TargetModules.AllLinear("all-linear")).r(4)
                .loraAlpha(8).loraDropout(0.1).initLoraWeights(false).build();
        LoraConfig rslora = lora.toBuilder().useRslora(true).build();
        LoraConfig dora = lora.toBuilder().useDora(true).build();
        // an adapted embedding puts the first layer's input in the graph too
        LoraConfig embed = LoraConfig.builder().targetModules("embed_tokens", "q_proj", "v_proj").r(4).loraAlpha(8)
                .loraDropout(0.1).initLoraWeights(false).modulesToSave(List.of("lm_head")).build();
        LoraConfig bertLora = LoraConfig.builder().targetModules("query", "value", "dense").r(4).loraAlpha(8)
                .loraDropout(0.1).initLoraWeights(false).modulesToSave(List.of("classifier")).build();
        List<Arguments> all = new ArrayList<>();
        for (DataType type : List.of(DataType.FLOAT32, DataType.FLOAT16)) {
            all.add(Arguments.of("llama lora", RandomModels.llama(0), TaskType.CAUSAL_LM, lora, type));
            all.add(Arguments.of("llama rslora", RandomModels.llama(0), TaskType.CAUSAL_LM, rslora, type));
            all.add(Arguments.of("llama dora", RandomModels.llama(0), TaskType.CAUSAL_LM, dora, type));
            all.add(Arguments.of("llama embedding + modules_to_save", RandomModels.llama(0), TaskType.CAUSAL_LM,
                    embed, type));
            all.add(Arguments.of("mistral sliding window", RandomModels.llama(12), TaskType.CAUSAL_LM, lora, type));
            all.add(Arguments.of("qwen3 q_norm, sliding layers", RandomModels.qwen3(12), TaskType.CAUSAL_LM, lora,
                    type));
            all.add(Arguments.of("phi3 fused, longrope, resid dropout", RandomModels.phi3(12, 32),
                    TaskType.CAUSAL_LM, dora, type));
            all.add(Arguments.of("phi3 classifier", RandomModels.phi3(12, 32), TaskType.SEQ_CLS,
                    lora.toBuilder().modulesToSave(List.of("score")).build(), type));
            all.add(Arguments.of("llama classifier", RandomModels.llama(0), TaskType.SEQ_CLS,
                    lora.toBuilder().modulesToSave(List.of("score")).build(), type));
            all.add(Arguments.of("bert classifier", RandomModels.bert(false), TaskType.SEQ_CLS, bertLora, type));
            all.add(Arguments.of("roberta classifier dora", RandomModels.bert(true), TaskType.SEQ_CLS,
                    bertLora.toBuilder().useDora(true).build(), type));
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} {4}")
    @MethodSource("cases")
    void gradientsAreThoseOfOnePlainBackwardPass(String name, ObjectNode config, TaskType task, LoraConfig lora,
            DataType type) {
        try (BaseModel base = RandomModels.build(config, task, type, 11);
                Adapter adapter = Adapter.create(base, lora, 3)) {
            Batch batch = batch(task, base.architecture().vocabSize(), 17);
            Objective objective = Objective.of(task);
            Map<String, float[]> plain = gradients(base, adapter, objective, batch, Pass.PLAIN, BLOCK);
            assertFalse(plain.isEmpty());
            double largest = plain.values().stream().mapToDouble(GradientCheckpointingTest::maxAbs).min().orElse(0);
            assertTrue(largest > 1e-6, "every tensor has a gradient to compare: smallest largest entry " + largest);
            // exactly the plain pass: the same kernels on the same values, the same masks
            assertSame(plain, gradients(base, adapter, objective, batch, Pass.CHECKPOINTED_WHOLE, BLOCK), 0,
                    Pass.CHECKPOINTED_WHOLE);
            // blocks sum the gradients of k and v over the blocks: rounding differs (fp16 rounds to 1e-3)
            double tolerance = type == DataType.FLOAT32 ? 1e-6 : 3e-2;
            assertSame(plain, gradients(base, adapter, objective, batch, Pass.BLOCKS, BLOCK), tolerance, Pass.BLOCKS);
            assertSame(plain, gradients(base, adapter, objective, batch, Pass.CHECKPOINTED, BLOCK), tolerance,
                    Pass.CHECKPOINTED);
        }
    }

    @Test
    void blocksAreUsedWithCheckpointingAndForBatchesLongerThan1024Tokens() {
        // the rule docs/config-files.md states
        Attention.Policy p = Attention.Policy.DEFAULT;
        assertEquals(0, p.blockFor(1024, false));
        assertEquals(256, p.blockFor(1025, false));
        assertEquals(256, p.blockFor(40, true));
        assertEquals(0, Attention.Policy.WHOLE.blockFor(100_000, true));
    }

    @ParameterizedTest(name = "a different dropout stream changes the gradients: {0}")
    @ValueSource(strings = {"llama", "bert"})
    void theComparisonCanFail(String family) {
        // the check above would catch a recomputation that drew other masks: other masks, other gradients
        boolean llama = family.equals("llama");
        TaskType task = llama ? TaskType.CAUSAL_LM : TaskType.SEQ_CLS;
        LoraConfig lora = LoraConfig.builder().targetModules(llama ? new String[] {"q_proj", "v_proj"}
                : new String[] {"query", "value"}).r(4).loraAlpha(8).loraDropout(0.1).initLoraWeights(false).build();
        try (BaseModel base = RandomModels.build(llama ? RandomModels.llama(0) : RandomModels.bert(false), task,
                DataType.FLOAT32, 11); Adapter adapter = Adapter.create(base, lora, 3)) {
            Batch batch = batch(task, base.architecture().vocabSize(), 17);
            Map<String, float[]> a = gradients(base, adapter, Objective.of(task), batch, Pass.PLAIN, BLOCK, 2);
            Map<String, float[]> b = gradients(base, adapter, Objective.of(task), batch, Pass.CHECKPOINTED, BLOCK, 3);
            double worst = a.keySet().stream().mapToDouble(k -> relativeDifference(a.get(k), b.get(k))).max()
                    .orElse(0);
            assertTrue(worst > 1e-3, "masks of another step: " + worst);
        }
    }

    @ParameterizedTest(name = "fixture {0}")
    @ValueSource(strings = {"s2", "s3"})
    void onTheFixturesBlocksAreTheSameFunctionAndGradients(String variant) {
        Path dir = Fixtures.tinyLlama(variant);
        List<long[]> rows = Fixtures.rows(dir.resolve("data.jsonl"));
        try (BaseModel base = HfModels.load(dir.resolve("model"));
                Adapter adapter = PeftAdapters.load(base, dir.resolve("adapters/rslora-all-linear"), true)
                        .adapter()) {
            Batch batch = RowBatches.pad(IntStream.range(0, rows.size()).toArray(), rows);
            try (GradMode g = GradMode.off(); Ops ops = Ops.scope(adapter.manager())) {
                float[] whole = base.architecture().forward(Forward.eval(ops, base, adapter), batch.modelInput(ops))
                        .toFloatArray();
                float[] blocks = base.architecture().forward(Forward.eval(ops, base, adapter)
                        .withMemory(null, BLOCK), batch.modelInput(ops)).toFloatArray();
                double rel = relativeDifference(whole, blocks);
                assertTrue(rel <= 1e-6, "logits in blocks of " + BLOCK + ": relative difference " + rel);
            }
            Objective objective = Objective.of(TaskType.CAUSAL_LM);
            Map<String, float[]> plain = gradients(base, adapter, objective, batch, Pass.PLAIN, BLOCK);
            assertSame(plain, gradients(base, adapter, objective, batch, Pass.CHECKPOINTED, BLOCK), 1e-6,
                    Pass.CHECKPOINTED);
        }
    }

    static void assertSame(Map<String, float[]> expected, Map<String, float[]> actual, double tolerance, Pass pass) {
        assertEquals(expected.keySet(), actual.keySet());
        for (String key : expected.keySet()) {
            double rel = relativeDifference(expected.get(key), actual.get(key));
            assertTrue(rel <= tolerance, pass + " " + key + ": relative difference " + rel + " > " + tolerance);
        }
    }

    /** Rows of different lengths (so padding is masked), tokens below {@code vocab}. */
    static Batch batch(TaskType task, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] lengths = {40, 29, 35};
        List<Example> examples = new ArrayList<>();
        for (int i = 0; i < lengths.length; i++) {
            long[] ids = new long[lengths[i]];
            for (int j = 0; j < ids.length; j++) {
                ids[j] = 2 + r.nextInt(vocab - 2);
            }
            examples.add(task == TaskType.SEQ_CLS ? new Example(i + 1, ids, null, null, i % 3)
                    : Example.causal(i + 1, ids));
        }
        return Batch.of(new int[] {0, 1, 2}, examples, 1);
    }

    static Map<String, float[]> gradients(BaseModel base, Adapter adapter, Objective objective, Batch batch,
            Pass pass, int block) {
        return gradients(base, adapter, objective, batch, pass, block, 2);
    }

    /** The trainable tensors' gradients of one micro-batch's mean loss, as {@link TrialRun#step} computes them. */
    static Map<String, float[]> gradients(BaseModel base, Adapter adapter, Objective objective, Batch batch,
            Pass pass, int block, long microBatch) {
        Map<String, float[]> out = new LinkedHashMap<>();
        try (GradMode g = GradMode.on(); Ops ops = Ops.scope(adapter.manager())) {
            LayerTape tape = switch (pass) {
                case PLAIN -> null;
                case BLOCKS -> LayerTape.keeping(ops);
                case CHECKPOINTED, CHECKPOINTED_WHOLE -> LayerTape.recomputing(ops);
            };
            int b = pass == Pass.PLAIN || pass == Pass.CHECKPOINTED_WHOLE ? 0 : block;
            Forward f = Forward.train(ops, base, adapter, Dropout.forStep(5, microBatch)).withMemory(tape, b);
            NDArray result = base.architecture().forward(f, batch.modelInput(ops));
            NDArray loss = ops.scale(objective.lossSum(ops, result, batch), 1.0 / batch.labelTokens());
            if (tape == null) {
                ops.backward(loss);
            } else {
                tape.backward(loss);
            }
            for (Parameter p : adapter.trainableParameters()) {
                NDArray grad = ops.grad(p.tensor());
                out.put(p.savedKey(), grad == null ? new float[0] : ops.toType(grad, DataType.FLOAT32).toFloatArray());
                Ops.zeroGrad(p.tensor());
            }
        }
        return out;
    }

    static double maxAbs(float[] a) {
        double m = 0;
        for (float v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    /** {@code |a - b| / |a|} in the Euclidean norm. */
    static double normRelativeDifference(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < a.length; i++) {
            double d = (double) a[i] - b[i];
            diff += d * d;
            scale += (double) a[i] * a[i];
        }
        return scale == 0 ? Math.sqrt(diff) : Math.sqrt(diff / scale);
    }

    /** The largest difference relative to the largest magnitude of the tensor. */
    static double relativeDifference(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double diff = 0;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
        }
        double scale = maxAbs(a);
        return scale == 0 ? diff : diff / scale;
    }
}
