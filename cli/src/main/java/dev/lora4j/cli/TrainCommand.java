package dev.lora4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.checkpoint.Checkpoint;
import dev.lora4j.checkpoint.CheckpointStore;
import dev.lora4j.config.Loaded;
import dev.lora4j.data.Tokenizer;
import dev.lora4j.lora.Adapter;
import dev.lora4j.lora.PeftAdapters;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.HfModels;
import dev.lora4j.run.RunSpec;
import dev.lora4j.runtime.Torch;
import dev.lora4j.train.RunFolder;
import dev.lora4j.train.StepReport;
import dev.lora4j.train.TrainListener;
import dev.lora4j.train.TrainingData;
import dev.lora4j.train.TrialData;
import dev.lora4j.train.TrialRun;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code lora4j train CONFIG.yaml}: one trial, start to end, with checkpoints; the same engine path every trial of a
 * sweep takes. Writes {@code DIR/adapter/} (the best adapter, PEFT format), {@code progress.csv}, {@code result.json}
 * and {@code checkpoints/}.
 */
@Command(name = "train", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = {"Trains one LoRA adapter from a training config (model, task, data, training, lora).", "",
            "A training config has the keys of a sweep file without method/metric/parameters/early_terminate;"
                    + " see docs/config-files.md.", "",
            "Ctrl-C once stops after the current step with a checkpoint (resume with --resume); twice stops at once."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:trained", "1:training failed (e.g. the loss diverged), or Ctrl-C stopped it (after a"
                + " checkpoint: --resume continues exactly)",
            "2:the config, a file or the model is invalid"})
public final class TrainCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int INTERRUPTED = 1;

    @Parameters(paramLabel = "CONFIG", description = "training config (YAML or JSON)")
    Path config;

    @Option(names = "--out", paramLabel = "DIR", description = "output folder (default: runs/<name>)")
    Path out;

    @Option(names = "--resume", description = "continue from the newest checkpoint in the output folder")
    boolean resume;

    @Option(names = "--json", description = "print the final metrics as one JSON object")
    boolean json;

    @Option(names = "--threads", paramLabel = "N", description = "intra-op threads (default: every core)")
    Integer threads;

    @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "cpu", description = "cpu, gpu or gpu:N")
    String device;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        Loaded<RunSpec> loaded = RunSpec.read(config);
        RunSpec run = loaded.value();
        PrintWriter err = spec.commandLine().getErr();
        loaded.warnings().forEach(w -> err.println("lora4j: warning: " + w));
        Path dir = out != null ? out : Path.of("runs", run.name());
        RunFolder folder = new RunFolder(dir);
        CheckpointStore store = folder.checkpoints();
        Path resumeFrom = null;
        Checkpoint checkpoint = null;
        if (resume) {
            List<Path> all = new ArrayList<>(store.list());
            Collections.reverse(all);
            for (Path p : all) {
                try {
                    checkpoint = CheckpointStore.load(p);
                    resumeFrom = p;
                    break;
                } catch (RuntimeException e) {
                    err.println("lora4j: warning: checkpoint " + p + " cannot be read (" + Failures.message(e)
                            + "); falling back to the one before it");
                }
            }
        }
        if (!resume && !store.list().isEmpty()) {
            throw new IllegalArgumentException(dir + " already holds a run (" + store.dir() + "); pass --resume to"
                    + " continue it, or choose another --out");
        }
        if (resume && resumeFrom == null) {
            err.println("lora4j: no checkpoint in " + store.dir() + "; starting from the beginning");
        }
        if (threads != null) {
            Torch.setThreads(threads);
        }
        PrintWriter console = json ? err : spec.commandLine().getOut();
        ProgressView view = new ProgressView(console, ProgressView.isTerminal());
        Map<String, Double> metrics;
        long started = System.nanoTime();
        try (BaseModel base = HfModels.load(run.model(), run.task(), Torch.device(device),
                run.training().precision());
                Tokenizer tokenizer = Tokenizer.forModel(HfModels.folderOf(run.model()),
                        base.config().intOr("pad_token_id", 0));
                Adapter adapter = Adapter.create(base, run.lora(), run.training().seed())) {
            TrialData data = TrainingData.open(run.data(), run.task(), tokenizer, run.training().batchSize(),
                    run.training().seed());
            view.log(run.name() + ": " + base.architecture().describe() + "; " + adapter.trainableReport());
            TrialRun.Settings settings = TrialRun.Settings.of(run.training(), "eval_loss", false);
            try (TrialRun trial = new TrialRun(base, adapter, data.objective(), settings, data.train(), data.eval(),
                    null)) {
                if (checkpoint != null) {
                    trial.restore(checkpoint);
                    folder.truncateProgressAfter(checkpoint.state().step());
                    view.log("resumed from " + resumeFrom + " (step " + checkpoint.state().step() + ")");
                }
                if (resumeFrom == null) {
                    folder.truncateProgressAfter(0);
                }
                trial.listen(listener(folder, view));
                AtomicInteger presses = new AtomicInteger();
                Interrupts.onCtrlC(() -> {
                    if (presses.incrementAndGet() > 1) {
                        err.println("lora4j: stopped without a checkpoint; --resume continues from the last one");
                        err.flush();
                        Runtime.getRuntime().halt(130);
                    }
                    view.log("stopping after this step with a checkpoint (Ctrl-C again to stop now)");
                });
                long saved = resumeFrom == null ? 0 : trial.completedSteps();
                while (!trial.finished()) {
                    trial.step();
                    boolean stop = presses.get() > 0;
                    if (trial.checkpointDue() || stop && trial.completedSteps() > saved) {
                        store.save(trial.checkpoint());
                        store.prune(run.training().saveTotalLimit().orElse(0), trial.bestStep());
                        saved = trial.completedSteps();
                    }
                    if (stop && !trial.finished()) {
                        err.println("lora4j: interrupted at step " + trial.completedSteps() + " of "
                                + trial.totalSteps() + " (checkpoint " + store.pathOf(saved) + "); resume with:"
                                + " bin/lora4j train " + config + " --out " + dir + " --resume");
                        err.flush();
                        return INTERRUPTED;
                    }
                }
                metrics = trial.finish();
                PeftAdapters.save(adapter, folder.adapterDir());
                Map<String, Object> result = new LinkedHashMap<>();
                result.put("name", run.name());
                result.put("status", trial.stoppedEarly() ? "stopped_early" : "finished");
                result.put("metrics", metrics);
                result.put("adapter", folder.adapterDir().toString());
                folder.writeResult(result);
            }
        }
        if (json) {
            Map<String, Object> o = new LinkedHashMap<>(metrics);
            o.put("adapter", folder.adapterDir().toString());
            spec.commandLine().getOut().println(JSON.valueToTree(o));
        } else {
            view.log(String.format(Locale.ROOT, "done in %s: %s; adapter in %s",
                    ProgressView.duration((System.nanoTime() - started) / 1e9), summary(metrics),
                    folder.adapterDir()));
        }
        spec.commandLine().getOut().flush();
        return 0;
    }

    private static TrainListener listener(RunFolder folder, ProgressView view) {
        return new TrainListener() {
            @Override
            public void onStep(StepReport r) {
                folder.appendStep(r);
                double eta = r.elapsedSeconds() / Math.max(1, r.step()) * (r.totalSteps() - r.step());
                view.draw(List.of(String.format(Locale.ROOT, "step %d/%d %s loss %.4f lr %.2e grad %.3f %.0f tok/s"
                                + " ETA %s", r.step(), r.totalSteps(), ProgressView.bar(r.step(), r.totalSteps(), 20),
                        r.loss(), r.learningRate(), r.gradNorm(), r.tokensPerSecond(),
                        ProgressView.duration(eta))), r.step() == r.totalSteps());
            }

            @Override
            public void onEvaluated(long step, Map<String, Double> m, boolean best) {
                folder.appendEval(step, m);
                view.log(String.format(Locale.ROOT, "eval at step %d: %s%s", step, summary(m), best ? " (best)" : ""));
            }
        };
    }

    static String summary(Map<String, Double> m) {
        StringBuilder sb = new StringBuilder();
        for (String k : List.of("train_loss", "eval_loss", "eval_accuracy", "eval_perplexity")) {
            Double v = m.get(k);
            if (v != null && !v.isNaN()) {
                sb.append(sb.length() == 0 ? "" : ", ").append(k).append(' ')
                        .append(String.format(Locale.ROOT, "%.4f", v));
            }
        }
        return sb.toString();
    }
}
