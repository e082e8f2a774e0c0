package dev.lora4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.lora4j.safetensors.SafetensorsCheckpoint;
import dev.lora4j.safetensors.TensorLoader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;

/** Opens the weights of a model folder: one {@code model.safetensors} or a sharded index, memory-mapped. */
public final class WeightSources {
    private WeightSources() {}

    public static WeightSource open(Path folder) throws IOException {
        SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(folder);
        return new WeightSource() {
            @Override
            public List<String> names() {
                return ckpt.names();
            }

            @Override
            public long[] shape(String name) {
                return ckpt.info(name).shape();
            }

            @Override
            public String dtype(String name) {
                return ckpt.info(name).dtype().name();
            }

            @Override
            public NDArray load(NDManager manager, String name, DataType type) {
                try {
                    return TensorLoader.load(manager, ckpt, name, type);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }

            @Override
            public String describe() {
                return ckpt.toString();
            }

            @Override
            public String fileOf(String name) {
                return ckpt.fileOf(name).toString();
            }

            @Override
            public void close() throws IOException {
                ckpt.close();
            }
        };
    }
}
