package dev.lora4j.onnx;

import java.util.List;

/** One operator of an ONNX graph, by the names of the values it reads and writes (attributes are not read). */
public record OnnxNode(String name, String opType, List<String> inputs, List<String> outputs) {
    public OnnxNode {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
    }
}
