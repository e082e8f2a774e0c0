package dev.lora4j;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.model.Architecture;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.Forward;
import dev.lora4j.model.HfConfig;
import dev.lora4j.model.ModelInput;
import dev.lora4j.model.ModuleNode;
import dev.lora4j.model.ModuleTree;
import dev.lora4j.runtime.Torch;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Small hand-built models for the layer-level PEFT cases (the MLP and friends of PEFT's own tests). */
public final class TestModels {
    private TestModels() {}

    /** A model with the given modules and weights; its forward is not used (tests call layers directly). */
    public static BaseModel custom(List<ModuleNode> modules, Map<String, float[][]> weights) {
        NDManager m = Torch.newManager(ai.djl.Device.cpu());
        Map<String, NDArray> w = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (Map.Entry<String, float[][]> e : weights.entrySet()) {
            float[][] v = e.getValue();
            NDArray a = v.length == 1 && e.getKey().endsWith(".bias") ? m.create(v[0]) : m.create(v);
            NDArray owned = a.duplicate();
            owned.setName(e.getKey());
            w.put(e.getKey(), owned);
            shapes.put(e.getKey(), owned.getShape().getShape());
        }
        ModuleTree tree = new ModuleTree("custom", modules, null, false);
        Architecture arch = new Architecture() {
            @Override
            public ModuleTree tree() {
                return tree;
            }

            @Override
            public Map<String, long[]> parameters() {
                return shapes;
            }

            @Override
            public NDArray forward(Forward f, ModelInput input) {
                throw new UnsupportedOperationException("layer-level test model");
            }

            @Override
            public String describe() {
                return "custom test model";
            }

            @Override
            public dev.lora4j.config.TaskType task() {
                return dev.lora4j.config.TaskType.FEATURE_EXTRACTION;
            }
        };
        ObjectNode cfg = JsonNodeFactory.instance.objectNode().put("model_type", "custom");
        return BaseModel.of(HfConfig.of(cfg), arch, m, w);
    }

    /** Random (seeded) weights for a linear module of the given shape. */
    public static float[][] random(int rows, int cols, long seed) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        float[][] v = new float[rows][cols];
        for (float[] row : v) {
            for (int j = 0; j < cols; j++) {
                row[j] = (float) (r.nextDouble() * 2 - 1);
            }
        }
        return v;
    }

    public static float[][] row(float... v) {
        return new float[][] {v};
    }

    /** PEFT's test MLP: lin0 = Linear(10, 20), relu, drop, lin1 = Linear(20, 2), sm. */
    public static BaseModel mlp() {
        Map<String, float[][]> w = new LinkedHashMap<>();
        w.put("lin0.weight", random(20, 10, 1));
        w.put("lin0.bias", row(random(1, 20, 2)[0]));
        w.put("lin1.weight", random(2, 20, 3));
        w.put("lin1.bias", row(random(1, 2, 4)[0]));
        return custom(List.of(ModuleNode.linear("lin0", 10, 20, true), ModuleNode.other("relu", "ReLU"),
                ModuleNode.other("drop", "Dropout"), ModuleNode.linear("lin1", 20, 2, true),
                ModuleNode.other("sm", "LogSoftmax")), w);
    }

    public static Shape shape(long... dims) {
        return new Shape(dims);
    }
}
