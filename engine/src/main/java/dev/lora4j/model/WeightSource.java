package dev.lora4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.io.Closeable;
import java.util.List;

/** Named tensors on disk (a safetensors file or a sharded checkpoint), loaded one at a time. */
public interface WeightSource extends Closeable {

    /** Tensor names in file order. */
    List<String> names();

    /** The stored shape of {@code name}. */
    long[] shape(String name);

    /** The stored dtype name ({@code F32}, {@code F16}, {@code BF16}, ...). */
    String dtype(String name);

    /** Loads {@code name} into {@code manager} as {@code type}, owning its storage (no alias into the file). */
    NDArray load(NDManager manager, String name, DataType type);

    /** Where the tensors come from, for error messages. */
    String describe();

    /** The file that holds {@code name} (one shard of a sharded checkpoint), for error messages. */
    default String fileOf(String name) {
        return describe();
    }
}
