package dev.lora4j.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.TaskType;
import dev.lora4j.model.Architecture;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.HfConfig;
import dev.lora4j.model.HfModels;
import dev.lora4j.runtime.Ops;
import dev.lora4j.runtime.Torch;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The benchmark's model and batch shape, the same as the PyTorch peer's {@code Cfg} (/work/shared/bench): a tiny
 * Llama with an untied lm_head, LoRA r=8 on all seven projections, batches of 8 x 128 tokens.
 */
record BenchShape(int vocab, int hidden, int layers, int heads, int kvHeads, int intermediate, int batch,
        int length) {

    static final BenchShape TINY_LLAMA = new BenchShape(1024, 256, 4, 4, 4, 688, 8, 128);

    /** The same shape with another vocabulary (a model read from a folder). */
    BenchShape withVocab(int v) {
        return new BenchShape(v, hidden, layers, heads, kvHeads, intermediate, batch, length);
    }

    /** As the peer prints it: {@code vocab1024,h256,L4,heads4,inter688,batch8x128} ({@code kv} when grouped). */
    String describe() {
        return "vocab" + vocab + ",h" + hidden + ",L" + layers + ",heads" + heads
                + (kvHeads != heads ? ",kv" + kvHeads : "") + ",inter" + intermediate + ",batch" + batch + "x" + length;
    }

    static final List<String> TARGETS = List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
            "down_proj");

    /** The config.json a Hugging Face checkpoint of this shape would carry. */
    HfConfig config() {
        ObjectNode c = JsonNodeFactory.instance.objectNode();
        c.put("model_type", "llama");
        c.put("vocab_size", vocab);
        c.put("hidden_size", hidden);
        c.put("num_hidden_layers", layers);
        c.put("num_attention_heads", heads);
        c.put("num_key_value_heads", kvHeads);
        c.put("intermediate_size", intermediate);
        c.put("rms_norm_eps", 1e-6);
        c.put("rope_theta", 10000.0);
        c.put("hidden_act", "silu");
        c.put("tie_word_embeddings", false);
        return HfConfig.of(c);
    }

    /**
     * A base with seeded random weights (N(0, 0.02) matrices, unit norms, as the peer draws them), built in memory
     * through the same {@link BaseModel} every trial trains on.
     */
    BaseModel randomBase(long seed) {
        HfConfig config = config();
        Architecture arch = HfModels.architecture(config, TaskType.CAUSAL_LM, Set.of("lm_head.weight"));
        NDManager manager = Torch.newManager(Device.cpu());
        Ops keep = Ops.into(manager);
        SplittableRandom rng = new SplittableRandom(seed);
        Map<String, NDArray> weights = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> p : arch.parameters().entrySet()) {
            long[] shape = p.getValue();
            float[] v = new float[Math.toIntExact(Arrays.stream(shape).reduce(1, Math::multiplyExact))];
            if (p.getKey().endsWith("norm.weight")) {
                Arrays.fill(v, 1f);
            } else {
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (rng.nextGaussian() * 0.02);
                }
            }
            NDArray w = keep.floats(v, new Shape(shape));
            w.setName(p.getKey());
            weights.put(p.getKey(), w);
        }
        return BaseModel.of(config, arch, manager, weights);
    }

    /** The peer's LoRA: r=8, alpha=16 on every projection; without {@code zeroB} B is random too (cross-check). */
    LoraConfig lora(double dropout, boolean zeroB) {
        return LoraConfig.builder().taskType(TaskType.CAUSAL_LM).targetModules(TARGETS.toArray(String[]::new)).r(8)
                .loraAlpha(16).loraDropout(dropout).initLoraWeights(zeroB).build();
    }

    long tokensPerBatch() {
        return (long) batch * length;
    }
}
