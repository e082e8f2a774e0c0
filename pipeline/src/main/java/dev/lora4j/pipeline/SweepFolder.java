package dev.lora4j.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.actors.TrialResult;
import dev.lora4j.checkpoint.CheckpointStore;
import dev.lora4j.sweep.TrialSpec;
import dev.lora4j.train.RunFolder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A sweep's run folder: {@code trials/<id>/} per trial (see {@link RunFolder}) and {@code leaderboard.csv}. It also
 * answers what a resumed sweep needs: which trials already ended, and where an interrupted one can continue.
 */
public final class SweepFolder {
    public static final String LEADERBOARD = "leaderboard.csv";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;

    public SweepFolder(Path dir) {
        this.dir = dir;
    }

    public Path dir() {
        return dir;
    }

    public RunFolder trial(String trialId) {
        return new RunFolder(dir.resolve("trials").resolve(trialId));
    }

    /** A trial's stored result if it finished or was stopped (a resumed sweep keeps it). */
    public Optional<TrialResult> ended(TrialSpec spec) {
        Path f = trial(spec.id()).dir().resolve(RunFolder.RESULT);
        if (!Files.isRegularFile(f)) {
            return Optional.empty();
        }
        try {
            JsonNode r = JSON.readTree(f.toFile());
            String status = r.path("status").asText("");
            if (!status.equals("finished") && !status.equals("stopped")) {
                return Optional.empty();
            }
            Map<String, Double> metrics = new LinkedHashMap<>();
            r.path("metrics").fields().forEachRemaining(e -> metrics.put(e.getKey(), e.getValue().asDouble()));
            return Optional.of(new TrialResult(spec.id(), spec.name(), spec.index(), spec.parameters(),
                    TrialResult.Status.valueOf(status.toUpperCase(Locale.ROOT)), metrics,
                    (long) (double) metrics.getOrDefault("steps", 0.0),
                    metrics.getOrDefault("train_runtime_s", 0.0), trial(spec.id()).adapterDir(),
                    trial(spec.id()).checkpoints().latest().orElse(null), r.path("reason").asText(null), List.of(),
                    1));
        } catch (IOException e) {
            // an unreadable result (torn by a kill) means the trial has to run again
            return Optional.empty();
        }
    }

    /** The newest complete checkpoint of a trial, if any. */
    public Optional<Path> lastCheckpoint(String trialId) {
        CheckpointStore store = trial(trialId).checkpoints();
        return store.latest();
    }

    /** Writes the leaderboard: one row per trial, ranked, with its parameters and metrics. */
    public void writeLeaderboard(SweepReport report) {
        Set<String> params = new LinkedHashSet<>();
        Set<String> metrics = new LinkedHashSet<>();
        metrics.add(report.metric().name());
        for (TrialResult r : report.leaderboard()) {
            params.addAll(r.parameters().keySet());
            r.metrics().keySet().stream().filter(k -> k.startsWith("eval_") || k.equals("train_loss"))
                    .forEach(metrics::add);
        }
        List<String> header = new ArrayList<>(List.of("rank", "trial_id", "name", "status"));
        header.addAll(params);
        header.addAll(metrics);
        header.addAll(List.of("steps", "time_s", "adapter", "reason"));
        StringBuilder sb = new StringBuilder(String.join(",", header)).append('\n');
        int rank = 0;
        for (TrialResult r : report.leaderboard()) {
            List<String> row = new ArrayList<>();
            row.add(r.metric(report.metric().name()).isPresent() ? Integer.toString(++rank) : "");
            row.add(r.trialId());
            row.add(csv(r.name()));
            row.add(r.status().name().toLowerCase(Locale.ROOT));
            for (String p : params) {
                JsonNode v = r.parameters().get(p);
                row.add(v == null ? "" : csv(v.isTextual() ? v.asText() : v.toString()));
            }
            for (String m : metrics) {
                row.add(r.metric(m).map(v -> String.format(Locale.ROOT, "%.6g", v)).orElse(""));
            }
            row.add(Long.toString(r.steps()));
            row.add(String.format(Locale.ROOT, "%.1f", r.seconds()));
            row.add(r.adapterDir().map(a -> dir.toAbsolutePath().relativize(a.toAbsolutePath()).toString()).orElse(""));
            row.add(csv(r.reason() == null ? "" : r.reason()));
            sb.append(String.join(",", row)).append('\n');
        }
        writeAtomically(LEADERBOARD, sb.toString());
    }

    private static String csv(String s) {
        return s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }

    void writeAtomically(String name, String text) {
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, "." + name, ".tmp");
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.move(tmp, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
