package dev.lora4j.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.lora4j.runtime.Torch;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Opens the weights of a model folder. (Interim: DJL's in-memory decoder until the mmap reader lands.) */
public final class WeightSources {
    private WeightSources() {}

    public static WeightSource open(Path folder) throws IOException {
        Path file = folder.resolve("model.safetensors");
        if (!Files.isRegularFile(file)) {
            throw new ModelException(folder + ": no model.safetensors");
        }
        NDManager m = Torch.engine().newBaseManager();
        Map<String, NDArray> arrays = new LinkedHashMap<>();
        try (InputStream in = Files.newInputStream(file)) {
            NDList list = NDList.decode(m, in);
            for (NDArray a : list) {
                arrays.put(a.getName(), a);
            }
        }
        return new WeightSource() {
            @Override
            public List<String> names() {
                return new ArrayList<>(arrays.keySet());
            }

            @Override
            public long[] shape(String name) {
                return arrays.get(name).getShape().getShape();
            }

            @Override
            public String dtype(String name) {
                return arrays.get(name).getDataType().toString();
            }

            @Override
            public NDArray load(NDManager manager, String name, DataType type) {
                NDArray a = arrays.get(name).toType(type, true);
                a.attach(manager);
                return a;
            }

            @Override
            public String describe() {
                return file.toString();
            }

            @Override
            public void close() {
                m.close();
            }
        };
    }
}
