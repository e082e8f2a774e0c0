package dev.lora4j.bench;

import ai.djl.ndarray.NDArray;
import dev.lora4j.data.Batch;
import dev.lora4j.lora.Adapter;
import dev.lora4j.lora.Parameter;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.Dropout;
import dev.lora4j.model.Forward;
import dev.lora4j.runtime.GradMode;
import dev.lora4j.runtime.Ops;
import dev.lora4j.safetensors.SafetensorsWriter;
import dev.lora4j.train.Objective;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Shows that the benchmark times the same computation as its peer: writes the base, a random-B adapter and one batch
 * in the files the peer's {@code --xcheck DIR} reads, and prints lora4j's loss and gradient norms on them (no
 * dropout) in the lines the peer prints, {@code J} for {@code PY}.
 */
final class CrossCheck {
    /** The gradients the peer reports, by PEFT key without the {@code base_model.model.} prefix. */
    static final List<String> GRADIENTS = List.of("model.layers.0.self_attn.q_proj.lora_A.weight",
            "model.layers.3.mlp.down_proj.lora_B.weight", "model.layers.1.self_attn.v_proj.lora_A.weight");
    private static final long ADAPTER_SEED = 99;
    private static final long BATCH_SEED = 5;

    private CrossCheck() {}

    static void run(BenchShape shape, long baseSeed, Path dir) throws IOException {
        Files.createDirectories(dir);
        int rows = shape.batch();
        int t = shape.length();
        // t + 1 ids per row: the peer reads inp = ids[:, :t], tgt = ids[:, 1:]; lora4j's causal loss makes the same
        // t pairs from the whole row with labels = ids
        long[] ids = RandomTokens.ids(new SplittableRandom(BATCH_SEED), rows, t + 1, shape.vocab());
        long[] inp = new long[rows * t];
        long[] tgt = new long[rows * t];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(ids, r * (t + 1), inp, r * t, t);
            System.arraycopy(ids, r * (t + 1) + 1, tgt, r * t, t);
        }
        new SafetensorsWriter().add("inp", new long[] {rows, t}, inp).add("tgt", new long[] {rows, t}, tgt)
                .write(dir.resolve("batch.safetensors"));
        try (BaseModel base = shape.randomBase(baseSeed);
                Adapter adapter = Adapter.create(base, shape.lora(0, false), ADAPTER_SEED)) {
            SafetensorsWriter baseFile = new SafetensorsWriter();
            base.weights().forEach(baseFile::add);
            baseFile.write(dir.resolve("base.safetensors"));
            SafetensorsWriter adapterFile = new SafetensorsWriter();
            for (Parameter p : adapter.trainableParameters()) {
                adapterFile.add(p.savedKey(), p.tensor());
            }
            adapterFile.write(dir.resolve("adapter.safetensors"));

            Batch batch = RandomTokens.batch(ids, rows, t + 1);
            Objective objective = new Objective.CausalLm();
            try (GradMode g = GradMode.on(); Ops ops = Ops.scope(adapter.manager())) {
                // the training pass itself; with lora_dropout 0 it draws no masks, as the peer's train=False
                Forward f = Forward.train(ops, base, adapter, Dropout.forStep(0, 0));
                NDArray out = base.architecture().forward(f, batch.modelInput(ops));
                NDArray loss = ops.scale(objective.lossSum(ops, out, batch), 1.0 / batch.labelTokens());
                ops.backward(loss);
                System.out.printf(Locale.ROOT, "J loss=%.6f%n", loss.getFloat());
                for (String name : GRADIENTS) {
                    NDArray grad = ops.grad(parameter(adapter, "base_model.model." + name).tensor());
                    double norm = ops.sqrt(ops.sum(ops.square(grad))).getFloat();
                    System.out.printf(Locale.ROOT, "J gradnorm %s=%.6e%n", name, norm);
                }
            }
        }
    }

    private static Parameter parameter(Adapter adapter, String savedKey) {
        return adapter.trainableParameters().stream().filter(p -> savedKey.equals(p.savedKey())).findFirst()
                .orElseThrow(() -> new IllegalStateException("adapter has no " + savedKey));
    }
}
