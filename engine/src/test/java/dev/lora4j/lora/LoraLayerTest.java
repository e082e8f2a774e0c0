package dev.lora4j.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.lora4j.TestModels;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.model.Adaptation;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.Forward;
import dev.lora4j.model.ModuleNode;
import dev.lora4j.runtime.Ops;
import dev.lora4j.runtime.Torch;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Numeric reference vectors of spec section D (TC-D01 to TC-D12), from the test-cases document. */
class LoraLayerTest {
    private static final float[][] W = {{1, 0, 2}, {0, 1, -1}};
    private static final float[] B0 = {0.5f, -0.5f};
    private static final float[][] A = {{1, 2, 0}, {0, 1, 1}};
    private static final float[][] B = {{0.5f, 0}, {1, -1}};
    private static final float[] X = {1, -1, 2};

    private static BaseModel linearModel(boolean conv1d, boolean bias) {
        Map<String, float[][]> w = new LinkedHashMap<>();
        float[][] stored = conv1d ? new float[][] {{1, 0}, {0, 1}, {2, -1}} : W;
        w.put("lin0.weight", stored);
        if (bias) {
            w.put("lin0.bias", TestModels.row(B0));
        }
        ModuleNode node = conv1d ? new ModuleNode("lin0", "Conv1D", ModuleNode.Kind.CONV1D, new long[] {3, 2}, bias)
                : ModuleNode.linear("lin0", 3, 2, bias);
        return TestModels.custom(List.of(node), w);
    }

    private static Adapter adapter(BaseModel base, LoraConfig.Builder cfg) {
        Adapter ad = Adapter.create(base, cfg.targetModules("lin0").r(2).loraAlpha(4).build(), 0);
        LoraLayer l = ad.layers().get("lin0");
        set(l.a(), A);
        set(l.b(), B);
        return ad;
    }

    private static void set(NDArray target, float[][] v) {
        try (NDManager m = Torch.engine().newBaseManager()) {
            Ops.assign(target, m.create(v));
        }
    }

    private static float[] forward(BaseModel base, Adaptation a) {
        try (Ops ops = Ops.scope(base.manager())) {
            NDArray x = ops.floats(X, new Shape(1, 3));
            return Forward.eval(ops, base, a).linear("lin0", x).toFloatArray();
        }
    }

    private static void close(float[] expected, float[] actual) {
        assertArrayEquals(expected, actual, 1e-5f);
    }

    @Test
    void linearForward() {
        try (BaseModel base = linearModel(false, true); Adapter ad = adapter(base, LoraConfig.builder())) {
            close(new float[] {5.5f, -3.5f}, forward(base, Adaptation.NONE));
            assertEquals(2.0, ad.layers().get("lin0").scaling());
            close(new float[] {4.5f, -7.5f}, forward(base, ad));
        }
    }

    @Test
    void rsLora() {
        try (BaseModel base = linearModel(false, true);
                Adapter ad = adapter(base, LoraConfig.builder().useRslora(true))) {
            assertEquals(2.8284271247, ad.layers().get("lin0").scaling(), 1e-9);
            close(new float[] {4.08578644f, -9.15685425f}, forward(base, ad));
        }
    }

    @Test
    void deltaMergeAndUnmerge() {
        try (BaseModel base = linearModel(false, true); Adapter ad = adapter(base, LoraConfig.builder());
                Ops ops = Ops.scope(base.manager())) {
            close(new float[] {1, 2, 0, 2, 2, -2}, ad.layers().get("lin0").delta(ops).toFloatArray());
            try (MergedWeights mw = MergedWeights.of(ad).merge(false)) {
                close(new float[] {2, 2, 2, 2, 3, -3}, mw.weights().get("lin0.weight").toFloatArray());
                close(B0, mw.weights().get("lin0.bias").toFloatArray());
                try (BaseModel merged = mw.asBaseModel()) {
                    close(new float[] {4.5f, -7.5f}, forward(merged, Adaptation.NONE));
                }
                assertTrue(mw.merged());
                mw.unmerge();
                close(new float[] {1, 0, 2, 0, 1, -1}, mw.weights().get("lin0.weight").toFloatArray());
                assertThrows(IllegalStateException.class, mw::unmerge);
            }
        }
    }

    @Test
    void fanInFanOutStoresTransposed() {
        try (BaseModel base = linearModel(true, true); Adapter ad = adapter(base, LoraConfig.builder());
                Ops ops = Ops.scope(base.manager())) {
            assertTrue(ad.config().fanInFanOut(), "corrected to true for Conv1D");
            assertTrue(ad.warnings().get(0).contains("Setting fan_in_fan_out to True"));
            close(new float[] {1, 2, 2, 2, 0, -2}, ad.layers().get("lin0").delta(ops).toFloatArray());
            close(new float[] {4.5f, -7.5f}, forward(base, ad));
            try (MergedWeights mw = MergedWeights.of(ad).merge(false)) {
                close(new float[] {2, 2, 2, 3, 2, -3}, mw.weights().get("lin0.weight").toFloatArray());
            }
        }
    }

    @Test
    void loraBias() {
        try (BaseModel base = linearModel(false, true);
                Adapter ad = adapter(base, LoraConfig.builder().loraBias(true));
                NDManager m = Torch.engine().newBaseManager()) {
            Ops.assign(ad.layers().get("lin0").bBias(), m.create(new float[] {1, 2}));
            close(new float[] {6.5f, -3.5f}, forward(base, ad));
            try (MergedWeights mw = MergedWeights.of(ad).merge(false)) {
                close(new float[] {2.5f, 3.5f}, mw.weights().get("lin0.bias").toFloatArray());
            }
        }
        try (BaseModel noBias = linearModel(false, false);
                Adapter ad = adapter(noBias, LoraConfig.builder().loraBias(true))) {
            assertTrue(ad.warnings().stream().anyMatch(w -> w.contains("has no bias")));
            MergedWeights mw = MergedWeights.of(ad);
            String msg = assertThrows(LoraException.class, () -> mw.merge(false)).getMessage();
            assertEquals("Impossible to merge LoRA with `lora_bias=True` because the base layer has no bias.", msg);
            mw.close();
        }
    }

    @Test
    void doraForwardMergeUnmerge() {
        try (BaseModel base = linearModel(false, true);
                Adapter ad = adapter(base, LoraConfig.builder().useDora(true));
                NDManager m = Torch.engine().newBaseManager()) {
            LoraLayer l = ad.layers().get("lin0");
            // magnitude right after init with these A, B: the row norms of W + s·B·A
            Ops.assign(l.magnitude(), m.create(new float[] {(float) Math.sqrt(12), (float) Math.sqrt(22)}));
            close(new float[] {4.5f, -7.5f}, forward(base, ad));
            Ops.assign(l.magnitude(), m.create(new float[] {1, 2}));
            close(new float[] {1.65470054f, -3.48481003f}, forward(base, ad));
            try (MergedWeights mw = MergedWeights.of(ad).merge(false)) {
                close(new float[] {0.57735027f, 0.57735027f, 0.57735027f, 0.85280287f, 1.2792043f, -1.2792043f},
                        mw.weights().get("lin0.weight").toFloatArray());
                close(B0, mw.weights().get("lin0.bias").toFloatArray());
                try (BaseModel merged = mw.asBaseModel()) {
                    close(new float[] {1.65470054f, -3.48481003f}, forward(merged, Adaptation.NONE));
                }
                mw.unmerge();
                close(new float[] {1, 0, 2, 0, 1, -1}, mw.weights().get("lin0.weight").toFloatArray());
            }
        }
    }

    @Test
    void doraDefaultInitIsIdentityAndMagnitudeIsRowNorm() {
        try (BaseModel base = linearModel(false, true);
                Adapter ad = Adapter.create(base, LoraConfig.builder().targetModules("lin0").r(2).useDora(true)
                        .build(), 7)) {
            close(forward(base, Adaptation.NONE), forward(base, ad));
            close(new float[] {(float) Math.sqrt(5), (float) Math.sqrt(2)},
                    ad.layers().get("lin0").magnitude().toFloatArray());
        }
        try (BaseModel base = linearModel(false, true);
                Adapter ad = Adapter.create(base, LoraConfig.builder().targetModules("lin0").r(2).useDora(true)
                        .initLoraWeights(false).build(), 7)) {
            float[] dora = forward(base, ad);
            assertTrue(Math.abs(dora[0] - 5.5f) > 1e-4 || Math.abs(dora[1] + 3.5f) > 1e-4, "differs from base");
        }
    }

    @Test
    void embedding() {
        Map<String, float[][]> w = new LinkedHashMap<>();
        w.put("emb.weight", new float[][] {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 1}});
        try (BaseModel base = TestModels.custom(List.of(ModuleNode.embedding("emb", 4, 3)), w);
                Adapter ad = Adapter.create(base, LoraConfig.builder().targetModules("emb").r(2).loraAlpha(1)
                        .loraDropout(0.5).build(), 0);
                NDManager m = Torch.engine().newBaseManager()) {
            LoraLayer l = ad.layers().get("emb");
            assertEquals(0.0, l.dropout(), "no dropout on embeddings");
            Ops.assign(l.a(), m.create(new float[][] {{1, 0, 2, 0}, {0, 1, 0, -1}}));
            Ops.assign(l.b(), m.create(new float[][] {{1, 0}, {0, 2}, {1, 1}}));
            try (Ops ops = Ops.scope(base.manager())) {
                NDArray ids = ops.longs(new long[] {2, 3}, new Shape(2));
                close(new float[] {1, 0, 2, 1, 0, 0.5f}, Forward.eval(ops, base, ad).embedding("emb", ids)
                        .toFloatArray());
                close(new float[] {0.5f, 0, 0.5f, 0, 1, 0.5f, 1, 0, 1, 0, -1, -0.5f}, l.delta(ops).toFloatArray());
            }
            try (MergedWeights mw = MergedWeights.of(ad).merge(false)) {
                close(new float[] {1.5f, 0, 0.5f, 0, 2, 0.5f, 1, 0, 2, 1, 0, 0.5f},
                        mw.weights().get("emb.weight").toFloatArray());
            }
        }
    }

    @Test
    void scalingsWithPatterns() {
        Map<String, float[][]> w = new LinkedHashMap<>();
        w.put("linear.weight", TestModels.random(40, 30, 1));
        w.put("embed.weight", TestModels.random(50, 20, 2));
        List<ModuleNode> nodes = List.of(ModuleNode.linear("linear", 30, 40, false),
                ModuleNode.embedding("embed", 50, 20));
        LoraConfig.Builder cfg = LoraConfig.builder().targetModules("linear", "embed").r(25).loraAlpha(17)
                .rankPattern(Map.of("embed", 9)).alphaPattern(Map.of("linear", 11.0));
        try (BaseModel base = TestModels.custom(nodes, w); Adapter ad = Adapter.create(base, cfg.build(), 0)) {
            assertEquals(0.44, ad.layers().get("linear").scaling(), 1e-12);
            assertEquals(17.0 / 9, ad.layers().get("embed").scaling(), 1e-12);
            assertArrayEquals(new long[] {25, 30}, ad.layers().get("linear").a().getShape().getShape());
            assertArrayEquals(new long[] {9, 50}, ad.layers().get("embed").a().getShape().getShape());
        }
        try (BaseModel base = TestModels.custom(nodes, w);
                Adapter ad = Adapter.create(base, cfg.useRslora(true).build(), 0)) {
            assertEquals(2.2, ad.layers().get("linear").scaling(), 1e-12);
            assertEquals(17.0 / 3, ad.layers().get("embed").scaling(), 1e-12);
        }
        try (BaseModel base = TestModels.custom(nodes, w);
                Adapter ad = Adapter.create(base, LoraConfig.builder().targetModules("linear", "embed")
                        .loraAlpha(3).r(16).build(), 0)) {
            assertEquals(0.1875, ad.layers().get("linear").scaling());
            assertEquals(0.1875, ad.layers().get("embed").scaling());
        }
    }
}
