package dev.lora4j.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

class JsonTextTest {
    @Test
    void peftLayoutIsPythonsJsonDumpsWithIndentAndSortedKeys() {
        JsonNode n = Documents.parse("{\"b\": [1, 2.0, 0.05, 1e-5, 2e-4, 1e16, \"\\u00e9\\u007f\\n\"], \"a\": {}, "
                + "\"c\": [], \"d\": {\"y\": 1, \"x\": null}}", true);
        // json.dumps(obj, indent=2, sort_keys=True) in CPython 3 gives exactly this
        assertEquals("{\n  \"a\": {},\n  \"b\": [\n    1,\n    2.0,\n    0.05,\n    1e-05,\n    0.0002,\n    1e+16,\n"
                + "    \"\\u00e9\\u007f\\n\"\n  ],\n  \"c\": [],\n  \"d\": {\n    \"x\": null,\n    \"y\": 1\n  }\n}",
                JsonText.peft(n));
    }

    @Test
    void canonicalDependsOnValuesOnly() {
        JsonNode a = Documents.parse("{\"r\": 8, \"alpha\": 16.0, \"t\": [\"q\", \"v\"]}", true);
        JsonNode b = Documents.parse("{\"t\": [\"q\", \"v\"], \"alpha\": 16, \"r\": 8.0}", true);
        assertEquals("{\"alpha\":16,\"r\":8,\"t\":[\"q\",\"v\"]}", JsonText.canonical(a));
        assertEquals(JsonText.canonical(a), JsonText.canonical(b));
    }
}
