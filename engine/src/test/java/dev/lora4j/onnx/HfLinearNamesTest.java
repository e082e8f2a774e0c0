package dev.lora4j.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HfLinearNamesTest {
    private final List<OnnxNode> nodes = new ArrayList<>();
    private final Map<String, OnnxTensor> inits = new LinkedHashMap<>();

    private void init(String name, long... dims) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        inits.put(name, OnnxTensor.ofFloats(name, dims, new float[(int) n]));
    }

    private void node(String op, String out, String... in) {
        nodes.add(new OnnxNode("/" + out, op, List.of(in), List.of(out)));
    }

    private OnnxGraph graph() {
        return new OnnxGraph("g", nodes, inits, List.of("x"), List.of("y"));
    }

    @Test
    void namesEachWeightAfterTheBiasAddedToItsProduct() {
        init("onnx::MatMul_1", 4, 6);
        init("enc.q.bias", 6);
        init("onnx::MatMul_2", 6, 4);
        init("enc.out.bias", 4);
        node("MatMul", "q_mm", "x", "onnx::MatMul_1");
        node("Add", "q", "enc.q.bias", "q_mm"); // bias first, as the transformers exporter writes it
        node("MatMul", "o_mm", "q", "onnx::MatMul_2");
        node("Add", "y", "o_mm", "enc.out.bias"); // and the other order
        assertEquals(Map.of("onnx::MatMul_1", "enc.q.weight", "onnx::MatMul_2", "enc.out.weight"),
                HfLinearNames.of(graph()));
    }

    @Test
    void leavesOutMatMulsWithoutABias() {
        init("onnx::MatMul_1", 4, 4);
        init("onnx::MatMul_2", 4, 4);
        init("scale", 4);
        node("MatMul", "a", "x", "onnx::MatMul_1"); // no Add at all
        node("MatMul", "b", "x", "onnx::MatMul_2");
        node("Add", "c", "b", "scale"); // an Add, but not of a *.bias
        node("MatMul", "d", "a", "c"); // two activations: attention scores
        node("Add", "y", "d", "x");
        assertEquals(Map.of(), HfLinearNames.of(graph()));
    }

    @Test
    void rejectsABiasOfTheWrongSize() {
        init("onnx::MatMul_1", 4, 6);
        init("enc.q.bias", 4);
        node("MatMul", "q_mm", "x", "onnx::MatMul_1");
        node("Add", "y", "enc.q.bias", "q_mm");
        OnnxFormatException e = assertThrows(OnnxFormatException.class, () -> HfLinearNames.of(graph()));
        assertTrue(e.getMessage().contains("onnx::MatMul_1") && e.getMessage().contains("[6]"), e.getMessage());
    }

    @Test
    void rejectsTwoWeightsForOneLayer() {
        init("onnx::MatMul_1", 4, 4);
        init("onnx::MatMul_2", 4, 4);
        init("enc.q.bias", 4);
        node("MatMul", "a", "x", "onnx::MatMul_1");
        node("Add", "a2", "enc.q.bias", "a");
        node("MatMul", "b", "x", "onnx::MatMul_2");
        node("Add", "y", "enc.q.bias", "b");
        OnnxFormatException e = assertThrows(OnnxFormatException.class, () -> HfLinearNames.of(graph()));
        assertTrue(e.getMessage().contains("enc.q.weight"), e.getMessage());
    }
}
