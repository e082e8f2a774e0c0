package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.lora4j.TestModels;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.model.Adaptation;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.Forward;
import dev.lora4j.model.ModuleNode;
import dev.lora4j.runtime.Ops;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Injection-time rules (spec 3.2, 3.3), trainability and counts (TC-F), initialisation (TC-E). */
class InjectionTest {

    private static LoraConfig.Builder lin0() {
        return LoraConfig.builder().targetModules("lin0");
    }

    private static String error(BaseModel base, LoraConfig c) {
        return assertThrows(LoraException.class, () -> Adapter.create(base, c, 0).close()).getMessage();
    }

    @Test
    void rankAndDropoutAndBiasAreCheckedAtInjection() {
        try (BaseModel mlp = TestModels.mlp()) {
            assertEquals("`r` should be a positive integer value but the value passed is 0",
                    error(mlp, lin0().r(0).build()));
            assertEquals("`r` should be a positive integer value but the value passed is -1",
                    error(mlp, lin0().r(-1).build()));
            assertEquals("`r` should be a positive integer value but the value passed is 0",
                    error(mlp, lin0().rankPattern(Map.of("lin0", 0)).build()));
            assertEquals("dropout probability has to be between 0 and 1, but got 1.5",
                    error(mlp, lin0().loraDropout(1.5).build()));
            try (Adapter ad = Adapter.create(mlp, lin0().loraDropout(-0.1).build(), 0)) {
                assertEquals(0.0, ad.layers().get("lin0").dropout(), "negative dropout is no dropout");
            }
            assertEquals("Requested bias: invalid, is not implemented.", error(mlp, lin0().bias("invalid").build()));
            assertEquals("Unknown initialization init_lora_weights='foo'",
                    error(mlp, lin0().initLoraWeights("foo").build()));
            assertEquals("init_lora_weights should be 'pissa' or 'pissa_niter_[number of iters]', got pissa_x"
                    + " instead.", error(mlp, lin0().initLoraWeights("pissa_x").build()));
            assertTrue(error(mlp, lin0().initLoraWeights("eva").build()).contains("not supported by lora4j yet"));
            assertEquals("Orthogonal initialization requires the LoRA rank to be even, got 7 instead.",
                    error(mlp, lin0().r(7).initLoraWeights("orthogonal").build()));
        }
    }

    @Test
    void unknownInitOnEmbeddingUsesTheDefault() {
        Map<String, float[][]> w = new LinkedHashMap<>();
        w.put("emb.weight", TestModels.random(10, 4, 1));
        try (BaseModel base = TestModels.custom(List.of(ModuleNode.embedding("emb", 10, 4)), w);
                Adapter ad = Adapter.create(base, LoraConfig.builder().targetModules("emb").initLoraWeights("foo")
                        .build(), 0)) {
            float[] a = ad.layers().get("emb").a().toFloatArray();
            for (float v : a) {
                assertEquals(0f, v, "embedding A starts at zero");
            }
            assertEquals("lora_bias=True is not supported for Embedding.", error(base,
                    LoraConfig.builder().targetModules("emb").loraBias(true).build()));
        }
    }

    @Test
    void onlyAdapterParametersAreTrainable() {
        try (BaseModel mlp = TestModels.mlp(); Adapter ad = Adapter.create(mlp, lin0().build(), 0)) {
            assertEquals(List.of("base_model.model.lin0.lora_A.default.weight",
                    "base_model.model.lin0.lora_B.default.weight"),
                    ad.trainableParameters().stream().map(Parameter::name).toList());
            assertEquals(240, ad.trainableCount());
            assertEquals(502, ad.allCount());
            assertEquals("trainable params: 240 || all params: 502 || trainable%: 47.8088", ad.trainableReport());
        }
    }

    @Test
    void biasModes() {
        try (BaseModel mlp = TestModels.mlp()) {
            try (Adapter ad = Adapter.create(mlp, lin0().bias("lora_only").build(), 0)) {
                assertEquals(260, ad.trainableCount());
                assertEquals(502, ad.allCount());
                assertTrue(ad.parameters().stream().anyMatch(p ->
                        p.savedKey().equals("base_model.model.lin0.base_layer.bias")));
            }
            try (Adapter ad = Adapter.create(mlp, lin0().bias("all").build(), 0)) {
                assertEquals(262, ad.trainableCount());
                assertEquals(502, ad.allCount());
                assertTrue(ad.parameters().stream().anyMatch(p -> p.savedKey().equals("base_model.model.lin1.bias")));
            }
        }
    }

    @Test
    void modulesToSaveAreTrainableCopies() {
        try (BaseModel mlp = TestModels.mlp();
                Adapter ad = Adapter.create(mlp, lin0().modulesToSave(List.of("lin1")).build(), 0)) {
            assertEquals(282, ad.trainableCount());
            assertEquals(544, ad.allCount());
            assertEquals(List.of("base_model.model.lin0.lora_A.default.weight",
                    "base_model.model.lin0.lora_B.default.weight",
                    "base_model.model.lin1.modules_to_save.default.weight",
                    "base_model.model.lin1.modules_to_save.default.bias"),
                    ad.trainableParameters().stream().map(Parameter::name).toList());
            assertEquals("base_model.model.lin1.weight", ad.trainableParameters().get(2).savedKey());
            assertArrayEquals(mlp.weight("lin1.weight").toFloatArray(),
                    ad.override("lin1.weight").toFloatArray(), "the copy starts identical");
        }
    }

    @Test
    void doraAddsTheMagnitude() {
        try (BaseModel mlp = TestModels.mlp(); Adapter ad = Adapter.create(mlp, lin0().useDora(true).build(), 0)) {
            assertEquals(260, ad.trainableCount());
            assertEquals(522, ad.allCount());
        }
    }

    @Test
    void sameSeedSameAdapterDifferentSeedDifferent() {
        try (BaseModel mlp = TestModels.mlp(); Adapter a = Adapter.create(mlp, lin0().build(), 5);
                Adapter b = Adapter.create(mlp, lin0().build(), 5); Adapter c = Adapter.create(mlp, lin0().build(), 6)) {
            assertArrayEquals(a.layers().get("lin0").a().toFloatArray(), b.layers().get("lin0").a().toFloatArray());
            assertFalse(java.util.Arrays.equals(a.layers().get("lin0").a().toFloatArray(),
                    c.layers().get("lin0").a().toFloatArray()));
        }
    }

    private static float[] out(BaseModel base, Adaptation a, float[] x, int in) {
        try (Ops ops = Ops.scope(base.manager())) {
            NDArray input = ops.floats(x, new Shape(1, in));
            return Forward.eval(ops, base, a).linear("lin0", input).toFloatArray();
        }
    }

    @Test
    void defaultInitIsIdentityWithUniformA() {
        try (BaseModel mlp = TestModels.mlp(); Adapter ad = Adapter.create(mlp, lin0().build(), 0)) {
            float bound = (float) (1 / Math.sqrt(10));
            for (float v : ad.layers().get("lin0").a().toFloatArray()) {
                assertTrue(Math.abs(v) <= bound);
            }
            for (float v : ad.layers().get("lin0").b().toFloatArray()) {
                assertEquals(0f, v);
            }
            float[] x = TestModels.random(1, 10, 9)[0];
            assertArrayEquals(out(mlp, Adaptation.NONE, x, 10), out(mlp, ad, x, 10), 0f);
        }
    }

    @Test
    void gaussianAndFalseAndOrthogonal() {
        try (BaseModel mlp = TestModels.mlp()) {
            try (Adapter ad = Adapter.create(mlp, lin0().initLoraWeights("gaussian").build(), 0)) {
                float[] a = ad.layers().get("lin0").a().toFloatArray();
                double var = 0;
                for (float v : a) {
                    var += v * v;
                }
                assertEquals(1.0 / 64, var / a.length, 0.006, "variance 1/r^2");
            }
            float[] x = TestModels.random(1, 10, 9)[0];
            try (Adapter ad = Adapter.create(mlp, lin0().initLoraWeights(false).build(), 0)) {
                assertFalse(java.util.Arrays.equals(out(mlp, Adaptation.NONE, x, 10), out(mlp, ad, x, 10)));
            }
            try (Adapter ad = Adapter.create(mlp, lin0().initLoraWeights("orthogonal").build(), 0);
                    Ops ops = Ops.scope(mlp.manager())) {
                float[] delta = ad.layers().get("lin0").delta(ops).toFloatArray();
                for (float v : delta) {
                    assertTrue(Math.abs(v) < 1e-6, "B·A = 0 at init");
                }
                assertFalse(allZero(ad.layers().get("lin0").b().toFloatArray()));
            }
        }
    }

    private static boolean allZero(float[] v) {
        for (float f : v) {
            if (f != 0) {
                return false;
            }
        }
        return true;
    }

    private static BaseModel square(float[][] w) {
        Map<String, float[][]> m = new LinkedHashMap<>();
        m.put("lin0.weight", w);
        return TestModels.custom(List.of(ModuleNode.linear("lin0", 2, 2, false)), m);
    }

    @Test
    void pissaNumbers() {
        for (double alpha : new double[] {1, 2}) {
            try (BaseModel base = square(new float[][] {{3, 0}, {0, 1}});
                    Adapter ad = Adapter.create(base, lin0().r(1).loraAlpha(alpha).initLoraWeights("pissa").build(), 0);
                    Ops ops = Ops.scope(base.manager())) {
                LoraLayer l = ad.layers().get("lin0");
                float[] ba = ops.matmul(l.b(), l.a()).toFloatArray();
                assertArrayEquals(new float[] {(float) (3 / alpha), 0, 0, 0}, ba, 1e-6f);
                assertArrayEquals(new float[] {0, 0, 0, 1}, ad.override("lin0.weight").toFloatArray(), 1e-6f);
                float[] x = {0.3f, -1.2f};
                assertArrayEquals(out(base, Adaptation.NONE, x, 2), out(base, ad, x, 2), 1e-6f);
            }
        }
    }

    @Test
    void pissaOnALargerLayerKeepsTheOutput() {
        Map<String, float[][]> m = new LinkedHashMap<>();
        m.put("lin0.weight", TestModels.random(96, 80, 3));
        for (String init : new String[] {"pissa", "pissa_niter_4"}) {
            try (BaseModel base = TestModels.custom(List.of(ModuleNode.linear("lin0", 80, 96, false)), m);
                    Adapter ad = Adapter.create(base, lin0().r(8).loraAlpha(16).initLoraWeights(init).build(), 0)) {
                float[] x = TestModels.random(1, 80, 4)[0];
                assertArrayEquals(out(base, Adaptation.NONE, x, 80), out(base, ad, x, 80), 1e-5f, init);
            }
        }
    }

    @Test
    void oloraNumbers() {
        double[][] expectedRes = {{0, 0, 0, 2}, {-3, -1, 0, 2}};
        int i = 0;
        for (double alpha : new double[] {1, 2}) {
            try (BaseModel base = square(new float[][] {{3, 1}, {0, 2}});
                    Adapter ad = Adapter.create(base, lin0().r(1).loraAlpha(alpha).initLoraWeights("olora").build(), 0);
                    Ops ops = Ops.scope(base.manager())) {
                LoraLayer l = ad.layers().get("lin0");
                assertArrayEquals(new float[] {3, 1, 0, 0}, ops.matmul(l.b(), l.a()).toFloatArray(), 1e-6f);
                float[] res = ad.override("lin0.weight").toFloatArray();
                for (int j = 0; j < 4; j++) {
                    assertEquals(expectedRes[i][j], res[j], 1e-6);
                }
                float[] x = {0.3f, -1.2f};
                assertArrayEquals(out(base, Adaptation.NONE, x, 2), out(base, ad, x, 2), 1e-6f);
            }
            i++;
        }
    }
}
