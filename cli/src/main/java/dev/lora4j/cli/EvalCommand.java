package dev.lora4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.config.LoraConfigJson;
import dev.lora4j.config.TaskType;
import dev.lora4j.lora.Adapter;
import dev.lora4j.lora.PeftAdapters;
import dev.lora4j.model.Adaptation;
import dev.lora4j.model.BaseModel;
import dev.lora4j.train.CausalLmEval;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lora4j eval}: the loss of a model (with an optional PEFT adapter) on a data file. The causal-LM loss is the
 * mean cross-entropy over every predicted token of the whole file (token-weighted, next-token, padding excluded).
 */
@Command(name = "eval", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Evaluates a model, optionally with a PEFT adapter, on a JSONL data file.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:done", "2:a file is missing or invalid, or the adapter does not fit the model"})
public final class EvalCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Mixin ModelOptions model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "PEFT adapter folder (adapter_config.json + "
            + "adapter_model.safetensors)")
    Path adapter;

    @Option(names = "--data", required = true, paramLabel = "FILE",
            description = "JSONL rows {\"input_ids\": [...]}")
    Path data;

    @Option(names = "--batch-size", defaultValue = "8", paramLabel = "N", description = "Rows per batch (default:"
            + " ${DEFAULT-VALUE}); the result does not depend on it")
    int batchSize;

    @Option(names = "--json", description = "Print one JSON object (eval_loss, eval_tokens, eval_perplexity)")
    boolean json;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        if (batchSize < 1) {
            throw new IllegalArgumentException("--batch-size must be >= 1, got " + batchSize);
        }
        List<long[]> rows = readRows(data);
        TaskType task = adapter == null ? null
                : LoraConfigJson.read(PeftAdapters.configFile(adapter)).value().task().orElse(null);
        CausalLmEval.Result r;
        try (BaseModel base = model.load(task)) {
            if (adapter == null) {
                r = CausalLmEval.evaluate(base, Adaptation.NONE, rows, batchSize);
            } else {
                PeftAdapters.LoadedAdapter loaded = PeftAdapters.load(base, adapter, false);
                loaded.warnings().forEach(w -> spec.commandLine().getErr().println("lora4j: warning: " + w));
                try (Adapter a = loaded.adapter()) {
                    r = CausalLmEval.evaluate(base, a, rows, batchSize);
                }
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectNode o = JSON.createObjectNode();
            o.put("eval_loss", r.loss());
            o.put("eval_tokens", r.tokens());
            o.put("eval_perplexity", r.perplexity());
            out.println(o);
        } else {
            out.printf(Locale.ROOT, "eval_loss %.6f  eval_perplexity %.4f  eval_tokens %d%n", r.loss(), r.perplexity(),
                    r.tokens());
        }
        out.flush();
        return 0;
    }

    static List<long[]> readRows(Path file) {
        List<long[]> rows = new ArrayList<>();
        try {
            int line = 0;
            for (String text : Files.readAllLines(file)) {
                line++;
                if (text.isBlank()) {
                    continue;
                }
                var node = JSON.readTree(text);
                var ids = node == null ? null : node.get("input_ids");
                if (ids == null || !ids.isArray()) {
                    throw new IllegalArgumentException(file + ":" + line + ": expected {\"input_ids\": [...]}");
                }
                long[] r = new long[ids.size()];
                for (int i = 0; i < r.length; i++) {
                    r[i] = ids.get(i).asLong();
                }
                rows.add(r);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (rows.isEmpty()) {
            throw new IllegalArgumentException(file + ": no rows");
        }
        return rows;
    }
}
