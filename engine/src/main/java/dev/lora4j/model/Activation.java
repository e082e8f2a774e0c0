package dev.lora4j.model;

import ai.djl.ndarray.NDArray;
import dev.lora4j.runtime.Ops;
import java.util.List;

/**
 * The feed-forward activations of transformers' {@code ACT2FN} that lora4j computes, by their config names
 * ({@code hidden_act}, GPT-2's {@code activation_function}). The exact (erf) and tanh GELUs differ by about 1e-5 in a
 * loss, so each name maps to the one transformers uses.
 */
enum Activation {
    /** {@code gelu}: {@code GELUActivation}, exact erf. */
    GELU("GELUActivation"),
    /** {@code gelu_new}: {@code NewGELUActivation}, the tanh approximation (GPT-2's default). */
    GELU_NEW("NewGELUActivation"),
    /** {@code gelu_pytorch_tanh}: {@code PytorchGELUTanh}, the same tanh approximation. */
    GELU_PYTORCH_TANH("PytorchGELUTanh"),
    /**
     * {@code gelu_fast}: {@code FastGELUActivation} (GPT-NeoX-20B), the tanh approximation with sqrt(2/pi) written
     * as 0.7978845608, 3e-11 relative from it: far below float32's resolution, so computed as {@code gelu_new}.
     */
    GELU_FAST("FastGELUActivation"),
    /** {@code relu}. */
    RELU("ReLU");

    private static final List<String> NAMES = List.of("gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "relu");

    private final String module;

    Activation(String module) {
        this.module = module;
    }

    /** The activation named by {@code key} ({@code def} when absent), refused naming the field when unknown. */
    static Activation of(HfConfig c, String key, String def, String family) {
        return of(c, key, def, family, NAMES);
    }

    /** As {@link #of(HfConfig, String, String, String)}, for a family that supports only {@code allowed}. */
    static Activation of(HfConfig c, String key, String def, String family, List<String> allowed) {
        String name = c.stringOr(key, def);
        if (!allowed.contains(name)) {
            throw new ModelException(c.source() + ": " + key + " " + name + " is not supported for " + family
                    + " (supported: " + String.join(", ", allowed) + ")");
        }
        return switch (name) {
            case "gelu" -> GELU;
            case "gelu_new" -> GELU_NEW;
            case "gelu_pytorch_tanh" -> GELU_PYTORCH_TANH;
            case "gelu_fast" -> GELU_FAST;
            default -> RELU;
        };
    }

    /** The transformers module class, for the module tree. */
    String module() {
        return module;
    }

    NDArray apply(Ops ops, NDArray x) {
        return switch (this) {
            case GELU -> ops.gelu(x);
            case GELU_NEW, GELU_PYTORCH_TANH, GELU_FAST -> ops.geluTanh(x);
            case RELU -> ops.relu(x);
        };
    }
}
