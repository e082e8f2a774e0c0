package dev.lora4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.api.ClusterOptions;
import dev.lora4j.api.Dashboard;
import dev.lora4j.api.Lora4j;
import dev.lora4j.api.Sweep;
import dev.lora4j.api.SweepHandle;
import dev.lora4j.api.SweepOptions;
import dev.lora4j.api.SweepReport;
import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.config.Loaded;
import dev.lora4j.dashboard.DashboardToken;
import dev.lora4j.files.AtomicFiles;
import dev.lora4j.report.HtmlReport;
import dev.lora4j.sweep.SweepSpec;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.BindException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code lora4j sweep SPEC.yaml}: runs every trial of a sweep on this machine's devices, shows them live, and ends
 * with the leaderboard, {@code report.html} and a PEFT adapter per trial.
 */
@Command(name = "sweep", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = {"Runs a LoRA hyper-parameter sweep (grid or random search, optional ASHA early stopping).", "",
            "Ctrl-C once stops every trial at a step boundary after a checkpoint (resume with --resume);"
                    + " twice stops at once."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:every trial finished or was stopped early", "1:a trial failed, or the sweep was"
                + " interrupted (Ctrl-C, a full disk)", "2:the sweep file is invalid, or another sweep runs in the"
                + " run folder"})
public final class SweepCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Parameters(paramLabel = "SPEC", description = "sweep file (YAML or JSON)")
    Path specFile;

    @Option(names = "--out", paramLabel = "DIR", description = "run folder (default: runs/<name>)")
    Path out;

    @Option(names = "--resume", description = "continue a run folder: trials that ended (finished, stopped, failed,"
            + " rejected) are kept as they are, interrupted ones continue from their last checkpoint")
    boolean resume;

    @Option(names = "--json", description = "print the leaderboard as JSON at the end")
    boolean json;

    @Mixin CpuOptions cpu;

    @Option(names = "--cluster", description = "coordinate a cluster: workers (bin/lora4j worker --join HOST:PORT)"
            + " offer their devices and train trials; progress, checkpoints and adapters land in this run folder")
    boolean cluster;

    @Option(names = "--bind", paramLabel = "HOST:PORT", description = "with --cluster: the address workers join"
            + " (default: 127.0.0.1:" + ClusterOptions.DEFAULT_PORT + "); any other address must be asked for")
    String bind;

    @Option(names = "--no-local", description = "with --cluster: train nothing on this machine, only on workers")
    boolean noLocal;

    @Option(names = "--min-workers", paramLabel = "N", description = "with --cluster: wait for N workers to join"
            + " before the first trial starts (default: 0, trials start on whatever lanes there are)")
    Integer minWorkers;

    @Mixin TlsOptions tlsOptions;

    @Option(names = "--serve", paramLabel = "[HOST:]PORT", description = "serve the live dashboard of the sweep"
            + " (page and API; host default: 127.0.0.1, this machine only); its URL, with the run's token, is printed"
            + " once")
    String serve;

    @Spec CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        cpu.check();
        ClusterOptions clusterOptions = clusterOptions();
        DashboardAddress serveAt = serve == null ? null : DashboardAddress.parse("--serve", serve);
        Loaded<SweepSpec> loaded = SweepSpec.read(specFile);
        SweepSpec sweep = loaded.value();
        PrintWriter err = spec.commandLine().getErr();
        Path dir = out != null ? out : Path.of("runs", sweep.name());
        // before any model is loaded: a file or a read-only folder is refused naming the option
        AtomicFiles.requireWritableFolder(dir, out != null ? "--out" : "the default --out");
        loaded.warnings().forEach(w -> err.println("lora4j: warning: " + w));
        if (resume) {
            checkSameSweep(dir);
        }
        PrintWriter console = json ? err : spec.commandLine().getOut();
        ProgressView view = new ProgressView(console, ProgressView.isTerminal());
        SweepReport report;
        try (Lora4j lora4j = clusterOptions == null ? Lora4j.create() : binding(
                new ClusterOptions.HostPort(clusterOptions.host(), clusterOptions.port()),
                () -> Lora4j.coordinator(clusterOptions))) {
            // reserves the run folder: one another sweep runs in is refused before anything in it is written
            Sweep prepared = lora4j.sweep(sweep, SweepOptions.in(dir).resuming(resume)
                    .withCpu(cpu.lanes(), cpu.threadsPerLane).withLocalLanes(!noLocal));
            if (clusterOptions != null) {
                String at = lora4j.clusterAddress().orElseThrow();
                view.log("cluster: coordinator at " + at + (noLocal ? " (training nothing itself)" : "")
                        + "; workers join with: bin/lora4j worker --join " + at);
                awaitWorkers(lora4j, view, minWorkers == null ? 0 : minWorkers);
            }
            if (!resume) {
                recordSpec(dir);
            }
            view.log("sweep " + sweep.summary() + (resume ? " (resuming " + dir + ")" : "") + " -> " + dir);
            SweepView live = new SweepView(view, sweep.metric().name(), sweep.size(), w -> view.warn(err, w));
            prepared.events().runForeach(live::on, lora4j.system());
            SweepHandle handle = prepared.start();
            Dashboard dashboard = null;
            if (serveAt != null) {
                try {
                    dashboard = DashboardAddress.await("--serve", serveAt, handle.serve(serveAt.host(), serveAt.port()));
                } catch (IllegalArgumentException e) {
                    // taken between the check and the start: nothing trained yet that a resume would not continue
                    handle.cancel().toCompletableFuture().join();
                    throw e;
                }
                // printed once, as Jupyter does: the URL carries the token the page trades for a cookie
                view.log("dashboard: " + dashboard.url() + " (token also in " + dir.resolve(DashboardToken.FILE) + ")");
            }
            AtomicInteger presses = new AtomicInteger();
            Interrupts.onCtrlC(() -> {
                // a sweep the dashboard stopped already counts as pressed once: Ctrl-C now stops at once
                if (presses.incrementAndGet() == 1 && !handle.isCancelled()) {
                    // the flag is set before cancel() returns: from here on no trial starts
                    handle.cancel();
                    view.log("stopping: every running trial checkpoints at its next step (Ctrl-C again to stop now)");
                } else {
                    err.println("lora4j: stopped; resume with: bin/lora4j sweep " + specFile + " --out " + dir
                            + " --resume");
                    err.flush();
                    Runtime.getRuntime().halt(130);
                }
            });
            report = handle.report().toCompletableFuture().join();
            if (dashboard != null) {
                // open pages read the final state before the server goes with the sweep
                try {
                    dashboard.stopped().toCompletableFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                    dashboard.stop();
                }
            }
        }
        boolean reportWritten = false;
        try {
            HtmlReport.write(dir, report);
            reportWritten = true;
        } catch (RuntimeException e) {
            // the trials, adapters and leaderboard are safe on disk; a report can be rebuilt with `lora4j report`
            err.println("lora4j: warning: report.html not written (" + Failures.message(e) + "); rebuild it with:"
                    + " bin/lora4j report " + dir);
        }
        if (json) {
            spec.commandLine().getOut().println(toJson(report, dir));
        } else {
            printLeaderboard(view, report, dir, reportWritten);
        }
        report.best().filter(b -> b.metric(sweep.metric().name()).filter(sweep.metric()::reaches).isPresent())
                .ifPresent(b -> view.log("metric.target reached by trial " + b.trialId() + ": no trial started after"
                        + " it"));
        if (report.stopReason() != null) {
            err.println("lora4j: the sweep stopped: " + report.stopReason() + "; once that is fixed, resume with:"
                    + " bin/lora4j sweep " + specFile + " --out " + dir + " --resume");
            err.flush();
            return 1;
        }
        if (report.cancelled()) {
            view.log("interrupted; resume with: bin/lora4j sweep " + specFile + " --out " + dir + " --resume");
            return 1;
        }
        spec.commandLine().getOut().flush();
        return report.count(TrialResult.Status.FAILED) > 0 ? 1 : 0;
    }

    /** The coordinator's cluster settings, null without --cluster (whose options are refused then). */
    private ClusterOptions clusterOptions() {
        ClusterOptions.Tls tls = tlsOptions.tls(System.getenv());
        if (!cluster) {
            for (String[] o : new String[][] {{"--bind", bind}, {"--no-local", noLocal ? "" : null},
                {"--min-workers", minWorkers == null ? null : ""}, {"--tls-keystore", tls == null ? null : ""}}) {
                if (o[1] != null) {
                    throw new IllegalArgumentException(o[0] + " is an option of a clustered sweep: add --cluster");
                }
            }
            return null;
        }
        if (minWorkers != null) {
            OptionChecks.atLeast("--min-workers", minWorkers, 0);
        }
        ClusterOptions.HostPort at = ClusterOptions.parse(bind == null ? "127.0.0.1:" + ClusterOptions.DEFAULT_PORT
                : bind, "--bind");
        if (at.port() == 0) {
            throw new IllegalArgumentException("--bind: a coordinator needs a fixed port (workers join it), got 0");
        }
        return ClusterOptions.coordinator(at.host(), at.port()).withTls(tls);
    }

    /** Waits until {@code n} workers have joined, saying so once. */
    private static void awaitWorkers(Lora4j lora4j, ProgressView view, int n) throws InterruptedException {
        if (lora4j.workerNodes() >= n) {
            return;
        }
        view.log("waiting for " + n + " worker(s) to join before the first trial starts");
        while (lora4j.workerNodes() < n) {
            Thread.sleep(200);
        }
        view.log(n + " worker(s) joined");
    }

    /** Starts a node bound to {@code at}; an address that cannot be bound is bad input naming it. */
    static <T> T binding(ClusterOptions.HostPort at, Supplier<T> start) {
        try {
            return start.get();
        } catch (RuntimeException e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof BindException || String.valueOf(t.getMessage()).contains("Failed to bind")) {
                    throw new IllegalArgumentException("--bind " + at + ": cannot listen there (" + rootMessage(e)
                            + "); choose a free port, or an address of this machine", e);
                }
            }
            throw e;
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    /** A resumed run must be the same sweep: the file as run is kept in the run folder. */
    private void checkSameSweep(Path dir) throws IOException {
        Path recorded = dir.resolve(Sweep.SPEC_FILE);
        if (!Files.isRegularFile(recorded)) {
            throw new IllegalArgumentException(dir + " holds no sweep to resume (no " + Sweep.SPEC_FILE + ")");
        }
        String text = Files.readString(specFile, StandardCharsets.UTF_8);
        if (!Files.readString(recorded, StandardCharsets.UTF_8).equals(text)) {
            throw new IllegalArgumentException(specFile + " differs from the sweep in " + recorded
                    + "; --resume continues the same sweep (use another --out for a new one)");
        }
    }

    /** Keeps the spec as run, in a folder that holds no other sweep. */
    private void recordSpec(Path dir) throws IOException {
        if (Files.isDirectory(dir.resolve("trials"))) {
            throw new IllegalArgumentException(dir + " already holds a sweep; pass --resume to continue it, or"
                    + " choose another --out");
        }
        AtomicFiles.writeString(dir.resolve(Sweep.SPEC_FILE), Files.readString(specFile, StandardCharsets.UTF_8));
    }

    private static void printLeaderboard(ProgressView view, SweepReport r, Path dir, boolean reportWritten) {
        List<String> params = r.parameterNames();
        List<String> lines = new ArrayList<>();
        StringBuilder head = new StringBuilder(String.format(Locale.ROOT, "%-4s %-28s", "#", "trial"));
        for (String p : params) {
            head.append(String.format(Locale.ROOT, " %12s", p.substring(p.indexOf('.') + 1)));
        }
        head.append(String.format(Locale.ROOT, " %12s %6s %8s  %s", r.metric().name(), "steps", "time", "status"));
        lines.add(head.toString());
        int rank = 0;
        for (TrialResult t : r.leaderboard()) {
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%-4s %-28s",
                    t.metric(r.metric().name()).isPresent() ? Integer.toString(++rank) : "-", t.name()));
            for (String p : params) {
                var v = t.parameters().get(p);
                row.append(String.format(Locale.ROOT, " %12s", v == null ? "" : v.isTextual() ? v.asText()
                        : v.toString()));
            }
            row.append(String.format(Locale.ROOT, " %12s %6d %8s  %s", t.metric(r.metric().name())
                    .map(v -> String.format(Locale.ROOT, "%.4f", v)).orElse("-"), t.steps(),
                    ProgressView.duration(t.seconds()), t.status().name().toLowerCase(Locale.ROOT)
                            + (t.reason() != null && t.status() != TrialResult.Status.FINISHED ? ": " + t.reason()
                            : "")));
            lines.add(row.toString());
        }
        lines.forEach(view::log);
        r.best().ifPresent(b -> view.log("best: " + b.name() + " (" + r.metric().name() + " "
                + String.format(Locale.ROOT, "%.4f", b.metric(r.metric().name()).orElseThrow()) + "), adapter in "
                + b.adapter()));
        view.log("leaderboard: " + dir.resolve("leaderboard.csv")
                + (reportWritten ? ", report: " + dir.resolve(HtmlReport.FILE) : "") + String.format(Locale.ROOT, " (%s)", ProgressView.duration(r.wallTime().toMillis() / 1000.0)));
    }

    static ObjectNode toJson(SweepReport r, Path dir) {
        ObjectNode o = JSON.createObjectNode();
        o.put("name", r.name());
        o.put("metric", r.metric().name());
        o.put("goal", r.metric().goal().name().toLowerCase(Locale.ROOT));
        o.put("folder", dir.toString());
        o.put("wall_time_s", r.wallTime().toMillis() / 1000.0);
        o.put("cancelled", r.cancelled());
        r.best().ifPresent(b -> o.put("best", b.trialId()));
        ArrayNode board = o.putArray("leaderboard");
        for (TrialResult t : r.leaderboard()) {
            ObjectNode row = board.addObject();
            row.put("trial_id", t.trialId());
            row.put("name", t.name());
            row.put("status", t.status().name().toLowerCase(Locale.ROOT));
            row.set("parameters", JSON.valueToTree(t.parameters()));
            row.set("metrics", JSON.valueToTree(t.metrics()));
            row.put("steps", t.steps());
            row.put("seconds", t.seconds());
            row.put("adapter", t.adapterDir().map(Path::toString).orElse(null));
            row.put("reason", t.reason());
            row.put("node", t.node());
        }
        return o;
    }

}
