package dev.lora4j.bench;

import ai.djl.Device;
import dev.lora4j.api.Lora4j;
import dev.lora4j.api.SweepHandle;
import dev.lora4j.api.SweepOptions;
import dev.lora4j.api.trial.TrialEvent;
import dev.lora4j.data.Tokenizer;
import dev.lora4j.lora.Adapter;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.HfModels;
import dev.lora4j.runtime.Torch;
import dev.lora4j.sweep.SweepSpec;
import dev.lora4j.sweep.TrialSpec;
import dev.lora4j.train.StepReport;
import dev.lora4j.train.TrainingData;
import dev.lora4j.train.TrialData;
import dev.lora4j.train.TrialRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import org.apache.pekko.stream.Materializer;

/**
 * Step throughput of one trial inside the sweep pipeline (Trainer actor on its pinned dispatcher, prefetched batches,
 * events, checkpointer) against the bare engine loop, in one JVM, alternating, one intra-op thread each. Throughput is
 * wall-clock steps per second between the end of step {@code SKIP} and the end of the last step, so whatever the
 * pipeline does between steps counts; the first steps (allocator and JIT warm-up) do not.
 *
 * <p>Usage: {@code PipelineOverhead SWEEP.yaml [PAIRS]}, a sweep of one trial without evaluation data.
 */
public final class PipelineOverhead {
    private static final int SKIP = 2;

    private PipelineOverhead() {}

    public static void main(String[] args) throws Exception {
        SweepSpec sweep = SweepSpec.read(Path.of(args[0])).value();
        int pairs = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        TrialSpec trial = sweep.trials().iterator().next();
        Torch.engine();
        Torch.setThreads(1);
        List<Double> ratios = new ArrayList<>();
        try (Lora4j lora4j = Lora4j.create()) {
            for (int i = 1; i <= pairs; i++) {
                double piped = pipeline(lora4j, sweep, Files.createTempDirectory("overhead"));
                double bare = bare(trial);
                ratios.add(piped / bare);
                System.out.printf(Locale.ROOT, "pair %d: steps/s in the pipeline %.4f, bare loop %.4f,"
                        + " pipeline/bare %.3f%n", i, piped, bare, piped / bare);
            }
        }
        Collections.sort(ratios);
        int n = ratios.size();
        double median = n % 2 == 1 ? ratios.get(n / 2) : (ratios.get(n / 2 - 1) + ratios.get(n / 2)) / 2;
        System.out.printf(Locale.ROOT, "median pipeline/bare over %d pairs: %.3f%n", n, median);
    }

    private static double pipeline(Lora4j lora4j, SweepSpec sweep, Path dir) {
        SweepHandle h = lora4j.sweep(sweep, SweepOptions.in(dir).withCpu(1, 1)).start();
        List<long[]> ends = Collections.synchronizedList(new ArrayList<>());
        h.events().runForeach(e -> {
            if (e instanceof TrialEvent.Progress p) {
                ends.add(new long[] {p.report().step(), System.nanoTime()});
            }
        }, Materializer.matFromSystem(lora4j.system()));
        h.report().toCompletableFuture().join();
        return rate(ends);
    }

    private static double bare(TrialSpec trial) {
        List<long[]> ends = new ArrayList<>();
        try (BaseModel base = HfModels.load(trial.model(), trial.task(), Device.cpu(), trial.training().precision());
                Tokenizer tok = Tokenizer.forModel(HfModels.folderOf(trial.model()),
                        base.config().intOr("pad_token_id", 0));
                Adapter adapter = Adapter.create(base, trial.lora(), trial.training().seed())) {
            TrialData data = TrainingData.open(trial.data(), trial.task(), tok, trial.training().batchSize(),
                    trial.training().seed());
            TrialRun.Settings s = TrialRun.Settings.of(trial.training(), "train_loss", false);
            try (TrialRun run = new TrialRun(base, adapter, data.objective(), s, data.train(), List.of(), null)) {
                while (!run.finished()) {
                    StepReport r = run.step();
                    ends.add(new long[] {r.step(), System.nanoTime()});
                }
            }
        }
        return rate(ends);
    }

    private static double rate(List<long[]> ends) {
        long[] first = ends.stream().filter(e -> e[0] >= SKIP).findFirst()
                .orElseThrow(() -> new IllegalStateException("no step after " + SKIP + " was seen"));
        long[] last = ends.get(ends.size() - 1);
        return (last[0] - first[0]) / ((last[1] - first[1]) / 1e9);
    }
}
