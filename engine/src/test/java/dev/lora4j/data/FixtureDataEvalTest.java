package dev.lora4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lora4j.Fixtures;
import dev.lora4j.config.TaskType;
import dev.lora4j.model.Adaptation;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.HfModels;
import dev.lora4j.train.CausalLmEval;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fixture's pre-tokenised rows, read, tokenised and batched by this package, give transformers' loss. */
class FixtureDataEvalTest {
    @TempDir
    Path dir;

    @Test
    void baseLossThroughDataFileAndBatches() {
        Path fixture = Fixtures.tinyLlama("s2");
        double expected = Fixtures.expected("s2").get("base").asDouble();
        TestTokenizers.llama(dir); // only its pad id is used: the rows are token ids already
        try (Tokenizer t = Tokenizer.load(dir); BaseModel base = HfModels.load(fixture.resolve("model"))) {
            TokenizedDataset data = TokenizedDataset.build(fixture.resolve("data.jsonl"), t,
                    DataOptions.of(TaskType.CAUSAL_LM));
            for (int batch : new int[] {1, 3}) {
                CausalLmEval.Result r = CausalLmEval.evaluate(base, Adaptation.NONE, Batches.evaluation(data, batch));
                assertEquals(expected, r.loss(), expected * 1e-5, "batch " + batch);
                assertEquals(data.stats().targetTokens(), r.tokens());
            }
        }
    }
}
