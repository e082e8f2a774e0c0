package dev.lora4j.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.IntNode;
import dev.lora4j.api.SweepReport;
import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.report.SweepFolder;
import dev.lora4j.sweep.Goal;
import dev.lora4j.sweep.Metric;
import dev.lora4j.train.RunFolder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A sweep's run folder written by hand, as the sweep writes it: three trials over r and learning_rate, one of them
 * failed after three steps; the first trial's name tries to inject a script.
 */
final class SampleRun {
    static final Metric METRIC = new Metric("eval_loss", Goal.MINIMIZE);
    static final String HOSTILE = "r4 <script>alert(1)</script> & \"q\"";
    static final String REASON = "out of memory, twice: \"CUDA\" <retry> & more\nsecond line";
    private static final ObjectMapper JSON = new ObjectMapper();

    private SampleRun() {}

    /** The report the sweep would hand over; the folder gets sweep.yaml, params, results and progress. */
    static SweepReport write(Path dir) {
        write(dir.resolve(SweepFolder.SPEC), "name: sample <sweep>\nmetric: {name: eval_loss, goal: minimize}\n");
        List<TrialResult> trials = new ArrayList<>();
        trials.add(trial(dir, "t-a", HOSTILE, 0, 4, 1e-4, TrialResult.Status.FINISHED, 0.90, null,
                progress(5, 2.0, List.of(3L, 5L), 1.0)));
        trials.add(trial(dir, "t-b", "r8", 1, 8, 1e-3, TrialResult.Status.FINISHED, 0.70, null,
                progress(5, 1.8, List.of(3L, 5L), 0.8)));
        trials.add(trial(dir, "t-c", "r16", 2, 16, 3e-3, TrialResult.Status.FAILED, Double.NaN, REASON,
                progress(3, 2.2, List.of(), 0)));
        return new SweepReport("sample <sweep>", METRIC, trials, Duration.ofSeconds(95), false, null);
    }

    /** progress.csv text: {@code steps} training rows from {@code loss} down, evaluations at the given steps. */
    static String progress(int steps, double loss, List<Long> evalSteps, double evalLoss) {
        StringBuilder sb = new StringBuilder(String.join(",", RunFolder.COLUMNS)).append('\n');
        for (int s = 1; s <= steps; s++) {
            sb.append(s).append(",0.1,").append(loss - 0.1 * s).append(",0.001,0.5,100,10,300,").append(0.1 * s)
                    .append(",,,,1280,1280\n");
            if (evalSteps.contains((long) s)) {
                sb.append(s).append(",0.1,,,,,,,,").append(evalLoss + 0.1 * (steps - s)).append(",0.5,2.5,,\n");
            }
        }
        return sb.toString();
    }

    static TrialResult trial(Path dir, String id, String name, int index, int r, double lr,
            TrialResult.Status status, double evalLoss, String reason, String progress) {
        Path t = dir.resolve("trials").resolve(id);
        Map<String, JsonNode> parameters = new LinkedHashMap<>();
        parameters.put("lora.r", IntNode.valueOf(r));
        parameters.put("training.learning_rate", DoubleNode.valueOf(lr));
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("trial_id", id);
        params.put("name", name);
        params.put("index", index);
        params.put("parameters", parameters);
        Map<String, Double> metrics = new LinkedHashMap<>();
        Path adapter = null;
        if (status == TrialResult.Status.FINISHED) {
            metrics.put("train_loss", evalLoss + 0.1);
            metrics.put("eval_loss", evalLoss);
            metrics.put("eval_accuracy", 0.5);
            metrics.put("steps", 5.0);
            adapter = t.resolve(RunFolder.ADAPTER);
            write(t.resolve(RunFolder.RESULT), json(Map.of("trial_id", id, "name", name, "status", "finished",
                    "metrics", metrics)));
        }
        write(t.resolve(RunFolder.PARAMS), json(params));
        if (progress != null) {
            write(t.resolve(RunFolder.PROGRESS), progress);
        }
        try {
            if (adapter != null) {
                Files.createDirectories(adapter);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return TrialResult.builder(id).name(name).index(index).parameters(parameters).status(status)
                .metrics(metrics).steps(status == TrialResult.Status.FINISHED ? 5 : 3).seconds(12.5).adapter(adapter)
                .reason(reason).build();
    }

    static String json(Object o) {
        try {
            return JSON.writeValueAsString(o);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void write(Path f, String text) {
        try {
            Files.createDirectories(f.getParent());
            Files.writeString(f, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
