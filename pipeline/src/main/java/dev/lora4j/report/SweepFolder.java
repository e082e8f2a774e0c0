package dev.lora4j.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SequenceWriter;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.csv.CsvGenerator;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvParser;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import dev.lora4j.actors.TrialFiles;
import dev.lora4j.actors.TrialFolder;
import dev.lora4j.api.SweepReport;
import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.checkpoint.CheckpointStore;
import dev.lora4j.config.Documents;
import dev.lora4j.files.AtomicFiles;
import dev.lora4j.sweep.Goal;
import dev.lora4j.sweep.Metric;
import dev.lora4j.sweep.TrialSpec;
import dev.lora4j.train.RunFolder;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A sweep's run folder: {@code trials/<id>/} per trial (see {@link RunFolder}) and {@code leaderboard.csv}. It also
 * answers what a resumed sweep needs: which trials already ended, and where an interrupted one can continue.
 */
public final class SweepFolder {
    public static final String LEADERBOARD = "leaderboard.csv";
    /** The sweep file as run. */
    public static final String SPEC = "sweep.yaml";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Quotes only cells that need it (a comma, a quote, a line break), as people and spreadsheets write CSV. */
    private static final CsvMapper CSV = CsvMapper.builder().enable(CsvGenerator.Feature.STRICT_CHECK_FOR_QUOTING)
            .build();

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

    /** The files of a trial, as its session writes them. */
    public TrialFiles files(String trialId) {
        return new TrialFolder(trial(trialId).dir());
    }

    /**
     * A trial's stored result if it ended (finished, stopped, failed or rejected): a resumed sweep keeps it as it
     * is. A cancelled or interrupted trial, or one whose result is unreadable, has not ended.
     */
    public Optional<TrialResult> ended(TrialSpec spec) {
        return files(spec.id()).readResult().filter(r -> r.status().ended());
    }

    /** The newest complete checkpoint of a trial, if any. */
    public Optional<Path> lastCheckpoint(String trialId) {
        CheckpointStore store = trial(trialId).checkpoints();
        return store.latest();
    }

    /** Writes the leaderboard: one row per trial, ranked, with its parameters and metrics. */
    public void writeLeaderboard(SweepReport report) {
        List<String> params = report.parameterNames();
        List<String> metrics = report.metricNames();
        List<String> header = new ArrayList<>(List.of("rank", "trial_id", "name", "status"));
        header.addAll(params);
        header.addAll(metrics);
        header.addAll(List.of("steps", "time_s", "adapter", "reason", "node"));
        List<String[]> rows = new ArrayList<>();
        rows.add(header.toArray(String[]::new));
        int rank = 0;
        for (TrialResult r : report.leaderboard()) {
            List<String> row = new ArrayList<>();
            row.add(r.metric(report.metric().name()).isPresent() ? Integer.toString(++rank) : "");
            row.add(r.trialId());
            row.add(r.name());
            row.add(r.status().json());
            for (String p : params) {
                JsonNode v = r.parameters().get(p);
                row.add(v == null ? "" : v.isTextual() ? v.asText() : v.toString());
            }
            for (String m : metrics) {
                row.add(r.metric(m).map(v -> String.format(Locale.ROOT, "%.6g", v)).orElse(""));
            }
            row.add(Long.toString(r.steps()));
            row.add(String.format(Locale.ROOT, "%.1f", r.seconds()));
            row.add(r.adapterDir().map(a -> dir.toAbsolutePath().relativize(a.toAbsolutePath()).toString()).orElse(""));
            row.add(r.reason() == null ? "" : r.reason());
            row.add(r.node() == null ? "" : r.node());
            rows.add(row.toArray(String[]::new));
        }
        StringWriter text = new StringWriter();
        try (SequenceWriter w = CSV.writerFor(String[].class).with(CsvSchema.emptySchema().withLineSeparator("\n"))
                .writeValues(text)) {
            w.writeAll(rows);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        writeAtomically(LEADERBOARD, text.toString());
    }

    /** The ids of the trials leaderboard.csv lists (those that ended, as the sweep last wrote it). */
    public Set<String> listedTrials() {
        Set<String> ids = new LinkedHashSet<>();
        List<List<String>> rows = parseCsv(read(dir.resolve(LEADERBOARD)));
        int col = rows.isEmpty() ? -1 : rows.get(0).indexOf("trial_id");
        for (List<String> row : col < 0 ? List.<List<String>>of() : rows.subList(1, rows.size())) {
            if (row.size() > col) {
                ids.add(row.get(col));
            }
        }
        return ids;
    }

    /**
     * The sweep's outcome read back from its files alone (for a report rebuilt later): the trials of
     * {@code leaderboard.csv} with parameters from each {@code params.json} and metrics from each {@code result.json}
     * where present, plus any trial folder the leaderboard does not list yet (cancelled: it never ended). The name
     * and metric come from {@code sweep.yaml}; the wall time is approximated by the time between writing
     * {@code sweep.yaml} and the last leaderboard, and is at least the longest trial's time.
     */
    public SweepReport readReport() {
        JsonNode spec = readTree(dir.resolve(SPEC));
        JsonNode m = spec.path("metric");
        Metric metric = new Metric(m.path("name").asText(Metric.DEFAULT.name()),
                Goal.parse(m.path("goal").asText("")).orElse(Metric.DEFAULT.goal()));
        String name = spec.path("name").asText(String.valueOf(dir.toAbsolutePath().normalize().getFileName()));
        List<TrialResult> trials = new ArrayList<>();
        Set<String> listed = new LinkedHashSet<>();
        List<List<String>> rows = parseCsv(read(dir.resolve(LEADERBOARD)));
        if (!rows.isEmpty()) {
            List<String> header = rows.get(0);
            for (List<String> row : rows.subList(1, rows.size())) {
                if (row.size() == header.size() && header.contains("trial_id")) {
                    Map<String, String> cells = new LinkedHashMap<>();
                    for (int i = 0; i < row.size(); i++) {
                        cells.put(header.get(i), row.get(i));
                    }
                    TrialResult r = fromRow(cells, header, metric, trials.size());
                    listed.add(r.trialId());
                    trials.add(r);
                }
            }
        }
        for (String id : trialFolders()) {
            if (!listed.contains(id)) {
                trials.add(unlisted(id, trials.size()));
            }
        }
        boolean cancelled = trials.stream().anyMatch(t -> t.status() == TrialResult.Status.CANCELLED);
        // a copied folder has fresh file times; the sweep lasted at least as long as its longest trial
        double longest = trials.stream().mapToDouble(TrialResult::seconds).max().orElse(0);
        Duration wall = approximateWallTime();
        if (wall.toMillis() < longest * 1000) {
            wall = Duration.ofMillis(Math.round(longest * 1000));
        }
        return new SweepReport(name, metric, trials, wall, cancelled, null);
    }

    private TrialResult fromRow(Map<String, String> cells, List<String> header, Metric metric, int order) {
        String id = cells.get("trial_id");
        RunFolder folder = trial(id);
        JsonNode params = readTree(folder.dir().resolve(RunFolder.PARAMS));
        JsonNode result = readTree(folder.dir().resolve(RunFolder.RESULT));
        // the leaderboard's columns are: rank, trial_id, name, status, parameters..., metrics..., steps, time_s, ...
        int first = header.indexOf("status") + 1;
        int metrics = header.indexOf(metric.name());
        int end = header.contains("steps") ? header.indexOf("steps") : header.size();
        if (metrics < first) {
            metrics = first;
            while (metrics < end && header.get(metrics).contains(".")) {
                metrics++;
            }
        }
        Map<String, JsonNode> parameters = parameters(params);
        if (!params.path("parameters").isObject()) {
            for (String p : header.subList(first, metrics)) {
                if (!cells.get(p).isEmpty()) {
                    parameters.put(p, cellValue(cells.get(p)));
                }
            }
        }
        Map<String, Double> values = new LinkedHashMap<>();
        for (String k : header.subList(metrics, end)) {
            number(cells.get(k)).ifPresent(v -> values.put(k, v));
        }
        values.putAll(metrics(result));
        String adapter = cells.getOrDefault("adapter", "");
        String reason = cells.getOrDefault("reason", "");
        String node = cells.getOrDefault("node", "");
        return TrialResult.builder(id).name(cells.getOrDefault("name", id)).index(params.path("index").asLong(order))
                .parameters(parameters).status(status(cells.get("status"))).metrics(values)
                .steps(number(cells.get("steps")).map(Double::longValue).orElse(0L))
                .seconds(number(cells.get("time_s")).orElse(0.0))
                .adapter(adapter.isEmpty() ? null : dir.resolve(adapter))
                .lastCheckpoint(folder.checkpoints().latest().orElse(null)).reason(reason.isEmpty() ? null : reason)
                .node(node.isEmpty() ? null : node).build();
    }

    /** A trial folder without a leaderboard row: the sweep stopped before it ended. */
    private TrialResult unlisted(String id, int order) {
        RunFolder folder = trial(id);
        JsonNode params = readTree(folder.dir().resolve(RunFolder.PARAMS));
        JsonNode result = readTree(folder.dir().resolve(RunFolder.RESULT));
        Map<String, Double> values = metrics(result);
        boolean ended = result.has("status");
        return TrialResult.builder(id).name(params.path("name").asText(id)).index(params.path("index").asLong(order))
                .parameters(parameters(params))
                .status(ended ? status(result.path("status").asText()) : TrialResult.Status.CANCELLED)
                .metrics(values).steps(result.has("steps") ? result.get("steps").asLong()
                        : (long) (double) values.getOrDefault("steps", 0.0))
                .seconds(result.has("seconds") ? result.get("seconds").asDouble()
                        : values.getOrDefault("train_runtime_s", 0.0))
                .adapter(Files.isDirectory(folder.adapterDir()) ? folder.adapterDir() : null)
                .lastCheckpoint(folder.checkpoints().latest().orElse(null))
                .reason(ended ? result.path("reason").asText(null) : "no result: the sweep stopped while it ran")
                .build();
    }

    private static Map<String, JsonNode> parameters(JsonNode params) {
        Map<String, JsonNode> parameters = new LinkedHashMap<>();
        params.path("parameters").properties().forEach(e -> parameters.put(e.getKey(), e.getValue()));
        return parameters;
    }

    private static Map<String, Double> metrics(JsonNode result) {
        Map<String, Double> metrics = new LinkedHashMap<>();
        result.path("metrics").properties().forEach(e -> metrics.put(e.getKey(), e.getValue().asDouble()));
        return metrics;
    }

    private List<String> trialFolders() {
        Path trials = dir.resolve("trials");
        if (!Files.isDirectory(trials)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(trials)) {
            return s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Duration approximateWallTime() {
        try {
            Duration d = Duration.between(Files.getLastModifiedTime(dir.resolve(SPEC)).toInstant(),
                    Files.getLastModifiedTime(dir.resolve(LEADERBOARD)).toInstant());
            return d.isNegative() ? Duration.ZERO : d;
        } catch (IOException e) {
            return Duration.ZERO;
        }
    }

    private static TrialResult.Status status(String s) {
        if (s == null) {
            return TrialResult.Status.FAILED;
        }
        try {
            return TrialResult.Status.valueOf(s.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return TrialResult.Status.FAILED;
        }
    }

    /** A parameter as the leaderboard printed it: numbers, booleans and lists are JSON, anything else text. */
    private static JsonNode cellValue(String cell) {
        try {
            return JSON.readTree(cell);
        } catch (IOException e) {
            return TextNode.valueOf(cell);
        }
    }

    private static Optional<Double> number(String cell) {
        try {
            return cell == null || cell.isEmpty() ? Optional.empty() : Optional.of(Double.parseDouble(cell));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** A missing or unreadable file reads as an empty tree: a report shows what is there. */
    private static JsonNode readTree(Path f) {
        if (!Files.isRegularFile(f)) {
            return MissingNode.getInstance();
        }
        try {
            return Documents.read(f);
        } catch (RuntimeException e) {
            return MissingNode.getInstance();
        }
    }

    private static String read(Path f) {
        try {
            return Files.isRegularFile(f) ? Files.readString(f, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** RFC 4180 rows (quoted cells may hold commas, doubled quotes and line breaks). */
    static List<List<String>> parseCsv(String text) {
        List<List<String>> rows = new ArrayList<>();
        if (text.isEmpty()) {
            return rows;
        }
        try (MappingIterator<String[]> it = CSV.readerFor(String[].class).with(CsvParser.Feature.WRAP_AS_ARRAY)
                .readValues(text)) {
            while (it.hasNext()) {
                rows.add(List.of(it.next()));
            }
        } catch (IOException | RuntimeException e) {
            // a leaderboard torn or edited by hand: a report shows the rows that parse
        }
        return rows;
    }

    /** Replaces (or creates) the file {@code name} in the folder so that readers never see it half written. */
    public void writeAtomically(String name, String text) {
        AtomicFiles.writeString(dir.resolve(name), text);
    }
}
