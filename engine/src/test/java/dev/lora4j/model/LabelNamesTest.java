package dev.lora4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class LabelNamesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static ObjectNode config(String json) throws Exception {
        return (ObjectNode) JSON.readTree(json);
    }

    @Test
    void id2labelInIdOrderWhateverTheKeyOrder() throws Exception {
        // transformers writes sorted string keys: "10" before "2"
        StringBuilder json = new StringBuilder("{\"id2label\": {");
        for (int i = 11; i >= 0; i--) {
            json.append('"').append(i).append("\": \"c").append(i).append('"').append(i > 0 ? ", " : "}}");
        }
        List<String> names = LabelNames.of(config(json.toString()), "config.json").orElseThrow();
        assertEquals("c0", names.get(0));
        assertEquals("c2", names.get(2));
        assertEquals("c11", names.get(11));
    }

    @Test
    void transformersPlaceholdersAndAbsentMappingsNameNothing() throws Exception {
        assertEquals(Optional.empty(), LabelNames.of(config("{\"id2label\": {\"0\": \"LABEL_0\", \"1\":"
                + " \"LABEL_1\"}}"), "c"));
        assertEquals(Optional.empty(), LabelNames.of(config("{\"model_type\": \"bert\"}"), "c"));
        assertEquals(Optional.empty(), LabelNames.of(config("{\"id2label\": null}"), "c"));
        assertEquals(Optional.of(List.of("LABEL_0", "spam")), LabelNames.of(config("{\"id2label\": {\"0\":"
                + " \"LABEL_0\", \"1\": \"spam\"}}"), "c"));
    }

    @Test
    void aMalformedMappingNamesTheFileAndTheField() throws Exception {
        assertEquals("a/config.json: id2label has the class ids [0, 2]; they must be 0 to 1",
                assertThrows(ModelException.class, () -> LabelNames.of(config("{\"id2label\": {\"0\": \"a\", \"2\":"
                        + " \"b\"}}"), "a/config.json")).getMessage());
        assertEquals("c: id2label key \"x\" is not a class id (0, 1, ...)", assertThrows(ModelException.class,
                () -> LabelNames.of(config("{\"id2label\": {\"x\": \"a\"}}"), "c")).getMessage());
        assertEquals("c: id2label names \"a\" twice; each class needs its own name", assertThrows(
                ModelException.class, () -> LabelNames.of(config("{\"id2label\": {\"0\": \"a\", \"1\": \"a\"}}"),
                        "c")).getMessage());
        assertEquals("c: id2label class 0 must be named by a non-empty string, got 3", assertThrows(
                ModelException.class, () -> LabelNames.of(config("{\"id2label\": {\"0\": 3}}"), "c")).getMessage());
        assertEquals("c: id2label must be a mapping of class ids to names, got [\"a\"]", assertThrows(
                ModelException.class, () -> LabelNames.of(config("{\"id2label\": [\"a\"]}"), "c")).getMessage());
    }

    @Test
    void putWritesBothMappingsAsTransformersDoesAndReadsBack() throws Exception {
        ObjectNode c = config("{\"model_type\": \"bert\", \"num_labels\": 5}");
        LabelNames.put(c, List.of("ham", "spam"));
        assertEquals(config("{\"model_type\": \"bert\", \"num_labels\": 2, \"id2label\": {\"0\": \"ham\", \"1\":"
                + " \"spam\"}, \"label2id\": {\"ham\": 0, \"spam\": 1}}"), c);
        assertEquals(Optional.of(List.of("ham", "spam")), LabelNames.of(c, "c"));
    }
}
