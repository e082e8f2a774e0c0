package dev.lora4j.model;

import ai.djl.ndarray.NDArray;
import java.util.Map;
import java.util.Optional;

/**
 * A model family written with Hugging Face's parameter names and numerics. An architecture is immutable and holds
 * no tensors; the weights live in a {@link BaseModel} and reach the layers through {@link Forward}.
 */
public interface Architecture {

    /** Every module by its dotted path, as transformers' implementation names them. */
    ModuleTree tree();

    /** Every parameter the forward pass reads, with its shape ({@code nn.Linear} layout). */
    Map<String, long[]> parameters();

    /** Parameters that are another parameter under a second name (tied {@code lm_head}): alias to target. */
    default Map<String, String> aliases() {
        return Map.of();
    }

    /**
     * The model's output for one batch: causal LMs give logits {@code (B, T, vocab)}, sequence classifiers logits
     * {@code (B, num_labels)}, encoders without a head the last hidden state {@code (B, T, hidden)}.
     */
    NDArray forward(Forward f, ModelInput input);

    /** The head the model was built with ({@code CAUSAL_LM}, {@code SEQ_CLS}, {@code FEATURE_EXTRACTION}). */
    dev.lora4j.config.TaskType task();

    /** The transformers class this is ({@code LlamaForCausalLM}, {@code BertModel}), for messages. */
    default String className() {
        return tree().modelType();
    }

    /** A short description for logs: {@code llama: 2 layers, hidden 64, 4 heads (2 kv), vocab 101}. */
    String describe();

    /**
     * Rows of the token embedding ({@code vocab_size}): every input token id must be below it, or the embedding
     * lookup fails (on a GPU, with a device-side assert that poisons the whole CUDA context). 0 when unknown.
     */
    default int vocabSize() {
        return 0;
    }

    /** A {@code SEQ_CLS} model's classes ({@code num_labels}, the classifier's outputs); 0 for any other head. */
    default int numLabels() {
        return 0;
    }

    /** A decoder's sizes, for estimates; empty for an encoder. */
    default Optional<DecoderShape> decoderShape() {
        return Optional.empty();
    }

    /**
     * The transformers class this model is ({@code BertForSequenceClassification}, {@code LlamaForCausalLM}), as
     * {@code save_pretrained} writes it into {@code config.json}'s {@code architectures}; empty when unknown.
     */
    default Optional<String> transformersClass() {
        return Optional.empty();
    }
}
