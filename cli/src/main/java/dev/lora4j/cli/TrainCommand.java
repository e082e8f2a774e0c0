package dev.lora4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.api.Engine;
import dev.lora4j.config.Loaded;
import dev.lora4j.files.AtomicFiles;
import dev.lora4j.run.RunSpec;
import dev.lora4j.train.StepReport;
import dev.lora4j.train.TrainListener;
import java.io.PrintWriter;
import java.nio.file.Path;
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

    @Option(names = "--threads", paramLabel = "N", description = "intra-op threads, 1 to the machine's cores (default:"
            + " every core)")
    Integer threads;

    @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "cpu", description = "cpu, gpu or gpu:N")
    String device;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        if (threads != null) {
            OptionChecks.oneToCores("--threads", threads);
        }
        Loaded<RunSpec> loaded = RunSpec.read(config);
        RunSpec run = loaded.value();
        PrintWriter err = spec.commandLine().getErr();
        Path dir = out != null ? out : Path.of("runs", run.name());
        // before the model is loaded: a file or a read-only folder is refused naming the option
        AtomicFiles.requireWritableFolder(dir, out != null ? "--out" : "the default --out");
        loaded.warnings().forEach(w -> err.println("lora4j: warning: " + w));
        PrintWriter console = json ? err : spec.commandLine().getOut();
        ProgressView view = new ProgressView(console, ProgressView.isTerminal());
        AtomicInteger presses = new AtomicInteger();
        Interrupts.onCtrlC(() -> {
            if (presses.incrementAndGet() > 1) {
                err.println("lora4j: stopped without a checkpoint; --resume continues from the last one");
                err.flush();
                Runtime.getRuntime().halt(130);
            }
            view.log("stopping after this step with a checkpoint (Ctrl-C again to stop now)");
        });
        long started = System.nanoTime();
        Engine.Training t;
        try {
            t = Engine.train(Engine.Train.of(run, dir).resuming(resume).onDevice(device)
                    .withThreads(threads == null ? 0 : threads).listenedBy(listener(view))
                    .stoppedWhen(() -> presses.get() > 0).loggingTo(view::log)
                    .warningTo(w -> err.println("lora4j: warning: " + w)));
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().contains("already holds a run")) {
                throw new IllegalArgumentException(dir + " already holds a run (" + dir.resolve("checkpoints")
                        + "); pass --resume to continue it, or choose another --out");
            }
            throw e;
        }
        if (!t.finished()) {
            err.println("lora4j: interrupted at step " + t.steps() + " of " + run.training().maxSteps()
                    + " (checkpoint " + t.checkpoint() + "); resume with: bin/lora4j train " + config + " --out "
                    + dir + " --resume");
            err.flush();
            return INTERRUPTED;
        }
        if (json) {
            Map<String, Object> o = new LinkedHashMap<>(t.metrics());
            o.put("adapter", t.adapter().toString());
            spec.commandLine().getOut().println(JSON.valueToTree(o));
        } else {
            view.log(String.format(Locale.ROOT, "done in %s: %s; adapter in %s",
                    ProgressView.duration((System.nanoTime() - started) / 1e9), summary(t.metrics()), t.adapter()));
        }
        spec.commandLine().getOut().flush();
        return 0;
    }

    private static TrainListener listener(ProgressView view) {
        return new TrainListener() {
            @Override
            public void onStep(StepReport r) {
                double eta = r.elapsedSeconds() / Math.max(1, r.step()) * (r.totalSteps() - r.step());
                view.draw(List.of(String.format(Locale.ROOT, "step %d/%d %s loss %.4f lr %.2e grad %.3f %.0f tok/s"
                                + " ETA %s", r.step(), r.totalSteps(), ProgressView.bar(r.step(), r.totalSteps(), 20),
                        r.loss(), r.learningRate(), r.gradNorm(), r.tokensPerSecond(),
                        ProgressView.duration(eta))), r.step() == r.totalSteps());
            }

            @Override
            public void onEvaluated(long step, Map<String, Double> m, boolean best) {
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
