package dev.lora4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lora4j.Fixtures;
import dev.lora4j.train.CausalLmEval;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LlamaForwardTest {

    @ParameterizedTest
    @ValueSource(strings = {"s2", "s3"})
    void baseLossMatchesTransformers(String variant) {
        Path dir = Fixtures.tinyLlama(variant);
        List<long[]> rows = Fixtures.rows(dir.resolve("data.jsonl"));
        double expected = Fixtures.expected(variant).get("base").asDouble();
        try (BaseModel base = HfModels.load(dir.resolve("model"))) {
            for (int batch : new int[] {1, 5}) {
                CausalLmEval.Result r = CausalLmEval.evaluate(base, Adaptation.NONE, rows, batch);
                assertEquals(expected, r.loss(), expected * 1e-5, "batch " + batch);
            }
        }
    }
}
