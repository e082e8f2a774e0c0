package dev.lora4j.onnx;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Recovers the Hugging Face names of linear-layer weights in a graph exported from transformers. The exporter keeps
 * the names of biases and norms but folds each {@code nn.Linear} weight into a transposed constant with a generated
 * name ({@code onnx::MatMul_787}) feeding {@code MatMul(x, W)}, followed by {@code Add(bias, ...)}. The bias keeps
 * the layer's name, so {@code encoder.layer.0.attention.self.query.bias} names the weight
 * {@code encoder.layer.0.attention.self.query.weight}. Such weights are stored {@code [in, out]}; the Hugging Face
 * layout is their transpose, {@code [out, in]}.
 */
public final class HfLinearNames {
    private static final String BIAS = ".bias";

    private HfLinearNames() {}

    /**
     * ONNX initializer name -> Hugging Face weight name, for every 2-D initializer used as a MatMul's right operand
     * whose product goes into an Add with a {@code *.bias} initializer; in graph order. MatMuls without such an Add
     * are left out (the caller checks that everything it needs was found).
     */
    public static Map<String, String> of(OnnxGraph graph) {
        Map<String, List<OnnxNode>> consumers = new HashMap<>();
        for (OnnxNode n : graph.nodes()) {
            for (String in : n.inputs()) {
                consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(n);
            }
        }
        Map<String, String> names = new LinkedHashMap<>();
        Map<String, String> byHfName = new HashMap<>();
        for (OnnxNode matmul : graph.nodes()) {
            if (!matmul.opType().equals("MatMul") || matmul.inputs().size() != 2 || matmul.outputs().isEmpty()) {
                continue;
            }
            OnnxTensor weight = graph.initializers().get(matmul.inputs().get(1));
            if (weight == null || weight.dims().length != 2) {
                continue;
            }
            String product = matmul.outputs().get(0);
            for (OnnxNode add : consumers.getOrDefault(product, List.of())) {
                String bias = biasOf(add, product, graph);
                if (bias == null) {
                    continue;
                }
                long out = weight.dims()[1];
                long[] biasDims = graph.initializers().get(bias).dims();
                if (biasDims.length != 1 || biasDims[0] != out) {
                    throw new OnnxFormatException("graph '" + graph.name() + "': " + weight + " (MatMul "
                            + matmul.name() + ") is followed by bias " + graph.initializers().get(bias)
                            + ", expected a bias of [" + out + "]");
                }
                String hf = bias.substring(0, bias.length() - BIAS.length()) + ".weight";
                claim(graph, names, byHfName, weight.name(), hf);
            }
        }
        return names;
    }

    /** The {@code *.bias} initializer added to {@code product} by {@code add}, or null if it is no such Add. */
    private static String biasOf(OnnxNode add, String product, OnnxGraph graph) {
        if (!add.opType().equals("Add") || add.inputs().size() != 2) {
            return null;
        }
        String other = add.inputs().get(0).equals(product) ? add.inputs().get(1) : add.inputs().get(0);
        return other.endsWith(BIAS) && graph.initializers().containsKey(other) ? other : null;
    }

    private static void claim(OnnxGraph graph, Map<String, String> names, Map<String, String> byHfName,
            String onnxName, String hf) {
        String before = names.get(onnxName);
        if (before != null && !before.equals(hf)) {
            throw new OnnxFormatException("graph '" + graph.name() + "': initializer " + onnxName
                    + " is the weight of two layers, " + before + " and " + hf + " (tied weights are not supported)");
        }
        String holder = byHfName.putIfAbsent(hf, onnxName);
        if (holder != null && !holder.equals(onnxName)) {
            throw new OnnxFormatException("graph '" + graph.name() + "': both " + holder + " and " + onnxName
                    + " multiply into the bias of " + hf + "; expected one weight per layer");
        }
        names.put(onnxName, hf);
    }
}
