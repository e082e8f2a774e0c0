package dev.lora4j.model;

import ai.djl.ndarray.NDArray;

/**
 * What a trial adds to a shared, frozen base model during a forward pass. The base never changes; everything a
 * trial owns (LoRA tensors, trainable copies, residual weights) comes in through this interface.
 */
public interface Adaptation {

    /** The trial's own tensor for base parameter {@code name} (a trainable copy or a residual), or null. */
    NDArray override(String name);

    /**
     * The output of linear layer {@code module} for input {@code x}, given the base result {@code baseOut} computed
     * with {@code weight}/{@code bias}: {@code baseOut} itself when the layer is not adapted.
     */
    NDArray linear(Forward f, ModuleNode module, NDArray x, NDArray baseOut, NDArray weight, NDArray bias);

    /** The output of embedding {@code module} for {@code ids}, given the base lookup {@code baseOut}. */
    NDArray embedding(Forward f, ModuleNode module, NDArray ids, NDArray baseOut);

    /** No adaptation: the base model. */
    Adaptation NONE = new Adaptation() {
        @Override
        public NDArray override(String name) {
            return null;
        }

        @Override
        public NDArray linear(Forward f, ModuleNode module, NDArray x, NDArray baseOut, NDArray weight,
                NDArray bias) {
            return baseOut;
        }

        @Override
        public NDArray embedding(Forward f, ModuleNode module, NDArray ids, NDArray baseOut) {
            return baseOut;
        }
    };
}
