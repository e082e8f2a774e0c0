package dev.lora4j.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.lora4j.checkpoint.CheckpointStore;
import dev.lora4j.files.AtomicFiles;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The files of one trial: {@code progress.csv} (appended as steps happen), {@code result.json},
 * {@code params.json}, {@code adapter/} (PEFT format) and {@code checkpoints/}. JSON files are replaced atomically.
 */
public final class RunFolder {
    public static final String PROGRESS = "progress.csv";
    public static final String RESULT = "result.json";
    public static final String PARAMS = "params.json";
    /** A training config that reproduces this trial alone: {@code bin/lora4j train trials/<id>/train.json}. */
    public static final String TRAIN_CONFIG = "train.json";
    public static final String ADAPTER = "adapter";
    /**
     * progress.csv's columns: {@code tokens} are the step's real tokens, {@code padded_tokens} what the model computed
     * over (rows x padded length): their difference is the padding that {@code packing} and {@code group_by_length}
     * save.
     */
    public static final List<String> COLUMNS = List.of("step", "epoch", "loss", "learning_rate", "grad_norm",
            "tokens_per_s", "examples_per_s", "peak_rss_mb", "elapsed_s", "eval_loss", "eval_accuracy",
            "eval_perplexity", "tokens", "padded_tokens");
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path dir;
    /** progress.csv's header width once read: rows are appended every step, the header never changes after. */
    private int columns = -1;

    public RunFolder(Path dir) {
        this.dir = dir;
    }

    public Path dir() {
        return dir;
    }

    public Path adapterDir() {
        return dir.resolve(ADAPTER);
    }

    public CheckpointStore checkpoints() {
        return new CheckpointStore(dir.resolve("checkpoints"));
    }

    /** Appends one training step to progress.csv (creating it with its header). */
    public void appendStep(StepReport r) {
        append(List.of(Long.toString(r.step()), num(r.epoch()), num(r.loss()), num(r.learningRate()),
                num(r.gradNorm()), num(r.tokensPerSecond()), num(r.examplesPerSecond()), Long.toString(r.peakRssMb()),
                num(r.elapsedSeconds()), "", "", "", Long.toString(r.tokens()), Long.toString(r.paddedTokens())));
    }

    /** Appends one evaluation to progress.csv. */
    public void appendEval(long step, Map<String, Double> m) {
        append(List.of(Long.toString(step), num(m.getOrDefault("epoch", Double.NaN)), "", "", "", "", "", "", "",
                num(m.getOrDefault("eval_loss", Double.NaN)), num(m.getOrDefault("eval_accuracy", Double.NaN)),
                num(m.getOrDefault("eval_perplexity", Double.NaN)), "", ""));
    }

    private static String num(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.6g", v);
    }

    private synchronized void append(List<String> cells) {
        try {
            Files.createDirectories(dir);
            Path f = dir.resolve(PROGRESS);
            boolean fresh = !Files.exists(f) || Files.size(f) == 0;
            // a run folder written before the last columns were added keeps its header: rows fit it
            if (fresh) {
                columns = COLUMNS.size();
            } else if (columns < 0) {
                columns = headerColumns(f);
            }
            try (BufferedWriter w = Files.newBufferedWriter(f, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND)) {
                if (fresh) {
                    w.write(String.join(",", COLUMNS));
                    w.newLine();
                }
                w.write(String.join(",", cells.subList(0, Math.min(cells.size(), columns))));
                w.newLine();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int headerColumns(Path f) throws IOException {
        try (java.io.BufferedReader r = Files.newBufferedReader(f, StandardCharsets.UTF_8)) {
            String header = r.readLine();
            return header == null || header.isBlank() ? COLUMNS.size() : header.split(",", -1).length;
        }
    }

    /**
     * progress.csv read back by column name: one map per row holding only its filled cells, so training rows carry
     * {@code loss, learning_rate, ...} and evaluation rows {@code eval_*}. A loss that was NaN is an empty cell and so
     * absent; a row that does not parse (torn by a kill mid-write) is skipped. Empty when there is no file.
     */
    public List<Map<String, Double>> readProgress() {
        Path f = dir.resolve(PROGRESS);
        if (!Files.isRegularFile(f)) {
            return List.of();
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(f, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (lines.isEmpty()) {
            return List.of();
        }
        String[] header = lines.get(0).split(",", -1);
        List<Map<String, Double>> rows = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] cells = line.split(",", -1);
            if (line.isBlank() || cells.length != header.length) {
                continue;
            }
            Map<String, Double> row = new LinkedHashMap<>();
            try {
                for (int i = 0; i < cells.length; i++) {
                    if (!cells[i].isEmpty()) {
                        row.put(header[i], Double.parseDouble(cells[i]));
                    }
                }
            } catch (NumberFormatException e) {
                continue;
            }
            rows.add(Collections.unmodifiableMap(row));
        }
        return List.copyOf(rows);
    }

    /**
     * Drops progress rows after {@code step}: a run resumed from that checkpoint writes them again, and the file
     * must end as if it had never been interrupted.
     */
    public synchronized void truncateProgressAfter(long step) {
        columns = -1;
        Path f = dir.resolve(PROGRESS);
        if (!Files.exists(f)) {
            return;
        }
        try {
            List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
            List<String> kept = new ArrayList<>();
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i);
                if (i == 0 || line.isBlank()) {
                    kept.add(line);
                    continue;
                }
                String first = line.substring(0, Math.max(0, line.indexOf(',')));
                try {
                    if (Long.parseLong(first) <= step) {
                        kept.add(line);
                    }
                } catch (NumberFormatException e) {
                    // a torn last line from a kill mid-write is dropped
                }
            }
            writeAtomically(PROGRESS, String.join("\n", kept) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public void writeResult(Object result) {
        writeJson(RESULT, result);
    }

    public void writeParams(Object params) {
        writeJson(PARAMS, params);
    }

    public void writeTrainConfig(Object config) {
        writeJson(TRAIN_CONFIG, config);
    }

    private void writeJson(String name, Object value) {
        try {
            writeAtomically(name, JSON.writeValueAsString(value) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void writeAtomically(String name, String text) {
        AtomicFiles.writeString(dir.resolve(name), text);
    }
}
