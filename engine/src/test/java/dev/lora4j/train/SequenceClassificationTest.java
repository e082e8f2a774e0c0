package dev.lora4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.TaskType;
import dev.lora4j.data.TestTokenizers;
import dev.lora4j.data.Tokenizer;
import dev.lora4j.lora.Adapter;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.BertForwardTest;
import dev.lora4j.model.HfModels;
import dev.lora4j.run.DataSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/** SEQ_CLS end to end on a tiny random BERT and RoBERTa: a separable toy task is learned to accuracy 1.0. */
class SequenceClassificationTest {

    /** Rows of filler words with "good" (pos) or "bad" (neg) somewhere in them. */
    static Path rows(Path file, int n, long seed) throws IOException {
        List<String> filler = new ArrayList<>(List.of(TestTokenizers.WORDS));
        filler.removeAll(List.of("good", "bad"));
        SplittableRandom r = new SplittableRandom(seed);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            boolean pos = r.nextBoolean();
            List<String> words = new ArrayList<>();
            int len = 3 + r.nextInt(4);
            for (int j = 0; j < len; j++) {
                words.add(filler.get(r.nextInt(filler.size())));
            }
            words.add(r.nextInt(words.size() + 1), pos ? "good" : "bad");
            lines.add("{\"text\": \"" + String.join(" ", words) + "\", \"label\": \"" + (pos ? "pos" : "neg") + "\"}");
        }
        Files.write(file, lines);
        return file;
    }

    @ParameterizedTest
    @ValueSource(strings = {"bert", "roberta"})
    void aTinyEncoderLearnsASeparableTaskToAccuracyOne(String family, @TempDir Path tmp) throws IOException {
        boolean roberta = family.equals("roberta");
        Map<String, float[]> w = BertForwardTest.weights(5, false);
        w.keySet().removeIf(k -> k.startsWith("classifier.") || roberta && k.startsWith("pooler."));
        if (roberta) {
            // RoBERTa has no pooler: its head's first layer comes with the checkpoint here, as BERT's pooler does
            Map<String, float[]> pooler = BertForwardTest.weights(5, false);
            w.put("classifier.dense.weight", pooler.get("pooler.dense.weight"));
            w.put("classifier.dense.bias", pooler.get("pooler.dense.bias"));
        }
        BertForwardTest.writeFolder(tmp, w);
        String config = Files.readString(tmp.resolve("config.json"))
                .replace("\"id2label\": {\"0\": \"a\", \"1\": \"b\", \"2\": \"c\"}", "\"num_labels\": 2,"
                        + " \"hidden_dropout_prob\": 0.0, \"attention_probs_dropout_prob\": 0.0");
        if (roberta) {
            // the test tokenizer pads with id 0; RoBERTa's positions then run 1..15 of the 16
            config = config.replace("\"model_type\": \"bert\"", "\"model_type\": \"roberta\", \"pad_token_id\": 0");
        }
        Files.writeString(tmp.resolve("config.json"), config);
        TestTokenizers.bert(tmp, false);
        DataSpec data = DataSpec.builder(rows(tmp.resolve("train.jsonl"), 96, 1)).eval(rows(tmp.resolve("eval.jsonl"),
                40, 2)).labels(List.of("neg", "pos")).maxLength(15).build();
        LoraConfig lora = LoraConfig.builder().targetModulesRegex("all-linear").r(4).loraAlpha(8)
                .taskType(TaskType.SEQ_CLS).build();
        try (BaseModel base = HfModels.load(tmp, HfModels.Options.cpu().withTask(TaskType.SEQ_CLS));
                Tokenizer tok = Tokenizer.load(tmp); Adapter adapter = Adapter.create(base, lora, 3)) {
            assertEquals(roberta ? List.of("classifier.out_proj.weight", "classifier.out_proj.bias")
                    : List.of("classifier.weight", "classifier.bias"), base.initialised(),
                    "a new head, as transformers does");
            assertTrue(adapter.modulesToSave().contains("classifier"), "SEQ_CLS trains the head (PEFT adds it)");
            TrialData d = TrainingData.open(data, TaskType.SEQ_CLS, tok, 8, 3);
            double before = Evaluator.evaluate(base, adapter, d.objective(), d.eval()).get("eval_accuracy");
            TrialRun.Settings s = new TrialRun.Settings(3e-2, 0, 0.9, 0.999, 1e-8, "constant", 0, 0, 1, 240, 1, 1.0,
                    40, 0, 0, 3, "eval_accuracy", true);
            try (TrialRun run = new TrialRun(base, adapter, d.objective(), s, d.train(), d.eval(), null)) {
                while (!run.finished()) {
                    run.step();
                }
                Map<String, Double> m = run.finish();
                assertEquals(1.0, m.get("eval_accuracy"), "from " + before + ": " + m);
                assertEquals(40.0, m.get("eval_samples"));
            }
        }
    }
}
