package dev.lora4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * A classifier's label names where transformers keeps them: {@code config.json}'s {@code id2label}
 * ({@code {"0": "ham", "1": "spam"}}) and {@code label2id} ({@code {"ham": 0, "spam": 1}}), as
 * {@code PretrainedConfig.save_pretrained} writes them. {@code id2label} is the one read: transformers' pipelines name
 * their predictions from it.
 */
public final class LabelNames {
    public static final String ID2LABEL = "id2label";
    public static final String LABEL2ID = "label2id";

    private LabelNames() {}

    /**
     * The names in id order that a {@code config.json} tree gives.
     *
     * @param config the tree
     * @param source the file, for messages
     * @return the names; empty when there is no {@code id2label}, or only transformers' placeholders
     *     ({@code LABEL_0}, {@code LABEL_1}, ..., which {@code PretrainedConfig} fills in when none were given)
     * @throws ModelException if {@code id2label} is not a mapping of the ids 0..N-1 to distinct names
     */
    public static Optional<List<String>> of(JsonNode config, String source) {
        JsonNode m = config == null ? null : config.get(ID2LABEL);
        if (m == null || m.isNull()) {
            return Optional.empty();
        }
        if (!m.isObject()) {
            throw bad(source, "must be a mapping of class ids to names, got " + m);
        }
        TreeMap<Integer, String> byId = new TreeMap<>();
        for (Map.Entry<String, JsonNode> e : m.properties()) {
            int id;
            try {
                id = Integer.parseInt(e.getKey().strip());
            } catch (NumberFormatException x) {
                throw bad(source, "key \"" + e.getKey() + "\" is not a class id (0, 1, ...)");
            }
            if (!e.getValue().isTextual() || e.getValue().textValue().isEmpty()) {
                throw bad(source, "class " + id + " must be named by a non-empty string, got " + e.getValue());
            }
            if (byId.put(id, e.getValue().textValue()) != null) {
                throw bad(source, "class " + id + " appears twice");
            }
        }
        if (byId.isEmpty()) {
            return Optional.empty();
        }
        if (byId.firstKey() != 0 || byId.lastKey() != byId.size() - 1) {
            throw bad(source, "has the class ids " + byId.keySet() + "; they must be 0 to " + (byId.size() - 1));
        }
        List<String> names = new ArrayList<>(byId.values());
        Set<String> seen = new HashSet<>();
        for (String n : names) {
            if (!seen.add(n)) {
                throw bad(source, "names \"" + n + "\" twice; each class needs its own name");
            }
        }
        boolean placeholders = true;
        for (int i = 0; i < names.size(); i++) {
            placeholders &= names.get(i).equals("LABEL_" + i);
        }
        return placeholders ? Optional.empty() : Optional.of(List.copyOf(names));
    }

    /**
     * Writes {@code names} into a {@code config.json} tree as transformers does: {@code id2label} with string ids,
     * {@code label2id}, and {@code num_labels} kept consistent where the tree has one.
     *
     * @param config the tree to change
     * @param names the names in id order (nothing is written when empty)
     */
    public static void put(ObjectNode config, List<String> names) {
        if (names.isEmpty()) {
            return;
        }
        ObjectNode id2label = config.objectNode();
        ObjectNode label2id = config.objectNode();
        for (int i = 0; i < names.size(); i++) {
            id2label.put(Integer.toString(i), names.get(i));
            label2id.put(names.get(i), i);
        }
        config.set(ID2LABEL, id2label);
        config.set(LABEL2ID, label2id);
        if (config.has("num_labels")) {
            config.put("num_labels", names.size());
        }
    }

    /**
     * The {@code config.json} that transformers' {@code save_pretrained} writes for {@code base} as it is loaded
     * (its head): the folder's own config with {@code architectures} naming the model's class and the label
     * names, if any.
     *
     * @param base the model
     * @param names the classifier's label names in id order, or empty
     * @return a new tree
     */
    public static ObjectNode savedConfig(BaseModel base, List<String> names) {
        ObjectNode config = base.config().raw().deepCopy();
        base.architecture().transformersClass().ifPresent(c -> config.putArray("architectures").add(c));
        put(config, names);
        return config;
    }

    private static ModelException bad(String source, String what) {
        return new ModelException(source + ": " + ID2LABEL + " " + what);
    }
}
