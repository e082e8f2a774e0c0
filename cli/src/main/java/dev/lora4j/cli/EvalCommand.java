package dev.lora4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.api.Engine;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lora4j eval}: the loss of a model (with an optional PEFT adapter) on a data file. The causal-LM loss is the
 * mean cross-entropy over every predicted token of the whole file (token-weighted, next-token, padding excluded);
 * a sequence classifier reports its mean loss and accuracy.
 */
@Command(name = "eval", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = {"Evaluates a model, optionally with a PEFT adapter, on a JSONL or CSV data file.", "",
            "Rows: {\"input_ids\": [...]} or {\"text\": ...} or {\"prompt\": ..., \"completion\": ...} for causal LMs"
                    + " (text needs the model's tokenizer.json); {\"text\": ..., \"label\": ...} for SEQ_CLS."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:done", "2:a file is missing or invalid, or the adapter does not fit the model"})
public final class EvalCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Mixin ModelOptions model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "PEFT adapter folder (adapter_config.json + "
            + "adapter_model.safetensors)")
    Path adapter;

    @Option(names = "--data", required = true, paramLabel = "FILE", description = "JSONL or CSV rows")
    Path data;

    @Option(names = "--batch-size", defaultValue = "8", paramLabel = "N", description = "Rows per batch (default:"
            + " ${DEFAULT-VALUE}); the result does not depend on it")
    int batchSize;

    @Option(names = "--max-length", defaultValue = "512", paramLabel = "N",
            description = "Tokens per row after truncation (default: ${DEFAULT-VALUE})")
    int maxLength;

    @Option(names = "--labels", split = ",", paramLabel = "NAMES",
            description = "SEQ_CLS class names in id order, as in training (default: the ones saved with the"
                    + " adapter, config.json's id2label; else the model's id2label; else the file's, sorted, with a"
                    + " warning)")
    List<String> labels;

    @Option(names = "--json", description = "Print one JSON object (eval_loss, and eval_tokens/eval_perplexity or"
            + " eval_samples/eval_accuracy)")
    boolean json;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        OptionChecks.atLeast("--batch-size", batchSize, 1);
        OptionChecks.atLeast("--max-length", maxLength, 1);
        Engine.Evaluate request = Engine.Evaluate.of(model.model, data).withBatchSize(batchSize)
                .withMaxLength(maxLength).withTask(model.task()).onDevice(model.device);
        if (adapter != null) {
            request = request.withAdapter(adapter);
        }
        if (labels != null && !labels.isEmpty()) {
            request = request.withLabels(labels.toArray(String[]::new));
        }
        Engine.Evaluation evaluation = Engine.evaluate(request);
        evaluation.warnings().forEach(w -> spec.commandLine().getErr().println("lora4j: warning: " + w));
        Map<String, Double> metrics = evaluation.metrics();
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectNode o = JSON.createObjectNode();
            metrics.forEach((k, v) -> {
                if (k.equals("eval_tokens") || k.equals("eval_samples")) {
                    o.put(k, v.longValue());
                } else {
                    o.put(k, v);
                }
            });
            out.println(o);
        } else {
            StringBuilder line = new StringBuilder();
            for (Map.Entry<String, Double> e : metrics.entrySet()) {
                boolean count = e.getKey().equals("eval_tokens") || e.getKey().equals("eval_samples");
                line.append(line.length() == 0 ? "" : "  ").append(e.getKey()).append(' ')
                        .append(count ? Long.toString(e.getValue().longValue())
                                : String.format(Locale.ROOT, "%.6f", e.getValue()));
            }
            out.println(line);
        }
        out.flush();
        return 0;
    }
}
