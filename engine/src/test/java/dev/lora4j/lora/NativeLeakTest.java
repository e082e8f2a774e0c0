package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.lora4j.Fixtures;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.TaskType;
import dev.lora4j.model.Adaptation;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.Forward;
import dev.lora4j.model.HfModels;
import dev.lora4j.model.ModelInput;
import dev.lora4j.runtime.GradMode;
import dev.lora4j.runtime.Ops;
import dev.lora4j.runtime.Torch;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * Nothing a trial does may leave arrays in a manager that outlives it: an op called on a shared base weight or on a
 * long-lived adapter tensor puts its result in that tensor's manager, where a sweep of many trials (or many
 * checkpoints) piles them up until the process runs out of memory.
 */
class NativeLeakTest {

    private static Path model() {
        return Fixtures.tinyLlama("s2").resolve("model");
    }

    private static BaseModel load(DataType type) {
        return HfModels.load(model(), HfModels.Options.cpu().withDataType(type));
    }

    private static int arrays(NDManager m) {
        return m.getManagedArrays().size();
    }

    @ParameterizedTest
    @ValueSource(strings = {"pissa", "olora"})
    void baseRewritingInitsLeaveNothingInTheBaseManager(String init) {
        int start = Torch.liveArrays();
        try (BaseModel base = load(DataType.FLOAT16)) {
            int baseArrays = arrays(base.manager());
            int loaded = Torch.liveArrays();
            LoraConfig c = LoraConfig.builder().targetModules("q_proj", "v_proj", "down_proj").r(4).loraAlpha(8)
                    .initLoraWeights(init).build();
            try (Adapter ad = Adapter.create(base, c, 0)) {
                assertEquals(6, ad.overrides().size(), "a residual weight per targeted module");
                assertEquals(DataType.FLOAT16, ad.override("model.layers.0.self_attn.q_proj.weight").getDataType());
                assertEquals(baseArrays, arrays(base.manager()), "the base's manager while the adapter lives");
                // per module: A, B and the fp16 residual, nothing else (no float32 staging copy)
                assertEquals(3 * 6, arrays(ad.manager()), "the adapter's manager");
            }
            assertEquals(baseArrays, arrays(base.manager()), "the base's manager after the adapter closed");
            assertEquals(loaded, Torch.liveArrays(), "live arrays after the adapter closed");
        }
        assertEquals(start, Torch.liveArrays(), "live arrays after the base closed");
    }

    @Test
    void snapshotsOfANonFloat32ParameterDoNotGrowTheAdapter() {
        // the only saved tensors not in float32: copies of a float64 base (fp16/bf16 ones are float32 masters)
        try (BaseModel base = load(DataType.FLOAT64);
                Adapter ad = Adapter.create(base, LoraConfig.builder().targetModules("q_proj").r(2)
                        .modulesToSave(List.of("lm_head")).build(), 0)) {
            Parameter head = ad.parameters().stream().filter(p -> p.name().contains("modules_to_save")).findFirst()
                    .orElseThrow();
            assertEquals(DataType.FLOAT64, head.tensor().getDataType());
            int before = arrays(ad.manager());
            AdapterSnapshot s = null;
            for (int i = 0; i < 5; i++) {
                s = ad.snapshot();
            }
            assertEquals(before, arrays(ad.manager()), "the adapter's manager after 5 snapshots");
            float[] expected;
            try (Ops ops = Ops.scope(base.manager())) {
                expected = ops.toType(base.weight("lm_head.weight"), DataType.FLOAT32).toFloatArray();
            }
            assertArrayEquals(expected, s.tensors().get(head.savedKey()).data(), 0f);
        }
    }

    @Test
    void mergingAndUnmergingAnFp16ModelKeepsOneCopyPerWeight() {
        try (BaseModel base = load(DataType.FLOAT16);
                Adapter ad = Adapter.create(base, LoraConfig.builder().targetModules("q_proj", "v_proj").r(2)
                        .initLoraWeights("gaussian").build(), 0);
                MergedWeights merged = MergedWeights.of(ad)) {
            int before = Torch.liveArrays();
            for (int i = 0; i < 3; i++) {
                merged.merge(false).unmerge();
            }
            assertEquals(before, Torch.liveArrays(), "live arrays after 3 merge/unmerge cycles");
            assertEquals(DataType.FLOAT16, merged.weights().get("model.layers.0.self_attn.q_proj.weight")
                    .getDataType());
        }
    }

    @Test
    void aMergedCopyLeavesNothingInTheBaseManager() {
        try (BaseModel base = load(DataType.FLOAT32);
                Adapter ad = Adapter.create(base, LoraConfig.builder().targetModules("q_proj").r(2).build(), 0)) {
            int baseArrays = arrays(base.manager());
            int adapterArrays = arrays(ad.manager());
            try (MergedWeights merged = MergedWeights.of(ad)) {
                merged.merge(true);
                assertEquals(baseArrays, arrays(base.manager()), "the base's manager while the copy lives");
                assertEquals(adapterArrays, arrays(ad.manager()), "the adapter's manager while the copy lives");
                assertEquals(base.weights().size(), merged.weights().size());
            }
            assertEquals(baseArrays, arrays(base.manager()), "the base's manager after the copy closed");
        }
    }

    @Test
    void aFreshFp16HeadKeepsNoFloat32StagingCopy() {
        try (BaseModel base = HfModels.load(model(), HfModels.Options.cpu().withDataType(DataType.FLOAT16)
                .withTask(TaskType.SEQ_CLS))) {
            assertEquals(List.of("score.weight"), base.initialised());
            assertEquals(DataType.FLOAT16, base.weight("score.weight").getDataType());
            assertEquals(base.weights().size(), arrays(base.manager()), "one array per weight in the base");
        }
    }

    @Test
    void theLastTokenOfAMaskedRowIsFoundWithoutTouchingTheMasksManager() {
        try (BaseModel base = HfModels.load(model(), HfModels.Options.cpu().withTask(TaskType.SEQ_CLS));
                NDManager inputs = Torch.newManager(base.device())) {
            // a mask kept across passes (a cached batch) lives in a manager of its own
            Ops held = Ops.into(inputs);
            ModelInput in = new ModelInput(held.longs(new long[] {5, 6, 7, 8, 9, 10}, new Shape(2, 3)),
                    held.longs(new long[] {1, 1, 0, 1, 1, 1}, new Shape(2, 3)), null);
            int before = arrays(inputs);
            for (int i = 0; i < 3; i++) {
                try (GradMode g = GradMode.off(); Ops ops = Ops.scope(base.manager())) {
                    NDArray logits = base.architecture().forward(Forward.eval(ops, base, Adaptation.NONE), in);
                    assertEquals(new Shape(2, 2), logits.getShape());
                }
            }
            assertEquals(before, arrays(inputs), "the inputs' manager after 3 passes");
        }
    }
}
