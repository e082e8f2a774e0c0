package dev.lora4j.model;

import java.util.Arrays;

/**
 * One module of a model, by the dotted path PyTorch's {@code named_modules()} gives it in the Hugging Face
 * implementation ({@code model.layers.0.self_attn.q_proj}), with its type and, for layers that hold a weight, its
 * shape in {@code nn.Linear} / {@code nn.Embedding} layout.
 */
public record ModuleNode(String path, String type, Kind kind, long[] weightShape, boolean hasBias) {

    /** What LoRA can do with a module. */
    public enum Kind {
        /** {@code nn.Linear}: weight (out, in). */
        LINEAR,
        /** transformers' {@code Conv1D}: a linear layer whose weight is stored (in, out). */
        CONV1D,
        /** {@code nn.Embedding}: weight (num_embeddings, dim). */
        EMBEDDING,
        /** Anything else (containers, norms, activations, dropout). */
        OTHER
    }

    public static ModuleNode linear(String path, long in, long out, boolean bias) {
        return new ModuleNode(path, "Linear", Kind.LINEAR, new long[] {out, in}, bias);
    }

    /** transformers' {@code Conv1D(nf=out, nx=in)}: the weight stored (in, out). */
    public static ModuleNode conv1d(String path, long in, long out) {
        return new ModuleNode(path, "Conv1D", Kind.CONV1D, new long[] {in, out}, true);
    }

    public static ModuleNode embedding(String path, long num, long dim) {
        return new ModuleNode(path, "Embedding", Kind.EMBEDDING, new long[] {num, dim}, false);
    }

    public static ModuleNode other(String path, String type) {
        return new ModuleNode(path, type, Kind.OTHER, null, false);
    }

    public boolean isLinear() {
        return kind == Kind.LINEAR || kind == Kind.CONV1D;
    }

    /** Input features of a linear layer. */
    public long inFeatures() {
        return kind == Kind.CONV1D ? weightShape[0] : weightShape[1];
    }

    /** Output features of a linear layer. */
    public long outFeatures() {
        return kind == Kind.CONV1D ? weightShape[1] : weightShape[0];
    }

    public String weightName() {
        return path + ".weight";
    }

    public String biasName() {
        return path + ".bias";
    }

    /** The last path segment ({@code q_proj}). */
    public String name() {
        int i = path.lastIndexOf('.');
        return i < 0 ? path : path.substring(i + 1);
    }

    /** {@code Linear(in_features=64, out_features=64, bias=False)}-style description, as PyTorch prints it. */
    public String describe() {
        return switch (kind) {
            case LINEAR -> "Linear(in_features=" + inFeatures() + ", out_features=" + outFeatures() + ", bias="
                    + (hasBias ? "True" : "False") + ")";
            case CONV1D -> "Conv1D(nf=" + outFeatures() + ", nx=" + inFeatures() + ")";
            case EMBEDDING -> "Embedding(" + weightShape[0] + ", " + weightShape[1] + ")";
            case OTHER -> type + "()";
        };
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModuleNode m && m.path.equals(path) && m.type.equals(type) && m.kind == kind
                && Arrays.equals(m.weightShape, weightShape) && m.hasBias == hasBias;
    }

    @Override
    public int hashCode() {
        return path.hashCode();
    }

    @Override
    public String toString() {
        return path + ": " + describe();
    }
}
