package dev.lora4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.config.Documents;
import dev.lora4j.files.ConfigFiles;
import dev.lora4j.files.FileKind;
import dev.lora4j.run.RunSpec;
import dev.lora4j.runtime.Torch;
import dev.lora4j.sweep.SweepSpec;
import dev.lora4j.train.MemoryEstimate;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code lora4j estimate CONFIG|SWEEP}: the peak memory of one trial before running it (reading the model's
 * config.json and checkpoint header, no weights) and how many trials fit on a device.
 */
@Command(name = "estimate", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = {"Estimates the peak memory of one trial of a training config or sweep, and how many trials fit"
                + " on a device, without loading the model's weights.", "",
            "Peak = runtime (JVM and libtorch, once per process) + base weights (once per device) + per trial"
                    + " (adapter, gradients and AdamW moments, activations of one micro-batch at batch_size x"
                    + " data.max_length tokens, the precision and gradient_checkpointing). A sweep's largest trial"
                    + " decides. trials_per_device: auto in a sweep uses the same estimate.", "",
            "Examples:",
            "  lora4j estimate examples/spam-minilm.yaml",
            "  lora4j estimate examples/train/llama-qv.yaml --device gpu:0 --json"},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:estimated", "2:the file, the model or --device is invalid"})
public final class EstimateCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Parameters(paramLabel = "FILE", description = "a training config or a sweep (YAML or JSON)")
    Path file;

    @Option(names = "--device", paramLabel = "DEVICE",
            description = "cpu, gpu or gpu:N (default: the file's first device; with devices: auto, the first GPU,"
                    + " else the CPU)")
    String device;

    @Option(names = "--json", description = "print one JSON object: peak_bytes, base_bytes, per_trial_bytes,"
            + " trials_per_device and the parts")
    boolean json;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        FileKind kind = ConfigFiles.kindOf(Documents.read(file));
        if (kind == FileKind.SWEEP) {
            SweepSpec sweep = SweepSpec.read(file).value();
            ai.djl.Device d = device(sweep.base().resources().devices());
            return print(sweep.name(), sweep.size(), d, MemoryEstimate.forSweep(sweep, d.isGpu()));
        }
        if (kind != FileKind.TRAIN) {
            throw new IllegalArgumentException(file + ": not a training config or a sweep (estimate reads the files"
                    + " train and sweep take; an adapter_config.json has no batch or data)");
        }
        RunSpec run = RunSpec.read(file).value();
        ai.djl.Device d = device(run.resources().devices());
        return print(run.name(), 1, d, MemoryEstimate.forRun(run, d.isGpu()));
    }

    /** {@code --device}, else the file's first listed device, else the first GPU, else the CPU. */
    private ai.djl.Device device(List<dev.lora4j.run.Device> listed) {
        if (device != null) {
            return Torch.device(device);
        }
        if (!listed.isEmpty()) {
            return Torch.device(listed.get(0).toString());
        }
        return Torch.engine().getGpuCount() > 0 ? ai.djl.Device.gpu(0) : ai.djl.Device.cpu();
    }

    private int print(String name, long trials, ai.djl.Device d, MemoryEstimate.Estimate e) {
        long free = MemoryEstimate.freeBytes(d);
        int fit = e.trialsPerDevice(free);
        PrintWriter out = spec.commandLine().getOut();
        String where = d.isGpu() ? "gpu:" + d.getDeviceId() : "cpu";
        if (json) {
            ObjectNode o = JSON.createObjectNode();
            o.put("name", name);
            o.put("device", where);
            o.put("peak_bytes", e.peakBytes());
            o.put("base_bytes", e.baseBytes());
            o.put("per_trial_bytes", e.perTrialBytes());
            o.put("trials_per_device", fit);
            o.put("runtime_bytes", e.runtimeBytes());
            o.put("adapter_bytes", e.adapterBytes());
            o.put("optimizer_bytes", e.optimizerBytes());
            o.put("activation_bytes", e.activationBytes());
            o.put("device_free_bytes", free);
            o.put("safety", MemoryEstimate.SAFETY);
            o.put("batch_size", e.batch());
            o.put("length", e.length());
            o.put("trials", trials);
            out.println(o);
        } else {
            out.println(name + (trials > 1 ? " (" + trials + " trials; the largest decides)" : "") + " on " + where
                    + ":");
            out.printf(Locale.ROOT, "  runtime          %s  (JVM, libtorch: once per process)%n",
                    size(e.runtimeBytes()));
            out.printf(Locale.ROOT, "  base weights     %s  (once per device)%n", size(e.baseBytes()));
            out.printf(Locale.ROOT, "  per trial        %s  (adapter %s, gradients and AdamW %s, activations %s at"
                    + " %d x %d tokens)%n", size(e.perTrialBytes()), size(e.adapterBytes()),
                    size(e.optimizerBytes()), size(e.activationBytes()), e.batch(), e.length());
            out.printf(Locale.ROOT, "  peak of a trial  %s%n", size(e.peakBytes()));
            out.printf(Locale.ROOT, "  %s free on %s, %.0f%% planned: %s%n", size(free), where,
                    100 * MemoryEstimate.SAFETY, fit == 0 ? "not even one trial fits (lower batch_size or"
                            + " data.max_length, or set training.gradient_checkpointing: true)"
                            : fit + (fit == 1 ? " trial fits" : " trials fit"));
        }
        out.flush();
        return 0;
    }

    static String size(long bytes) {
        double mib = bytes / (double) (1L << 20);
        return mib >= 1024 ? String.format(Locale.ROOT, "%.2f GiB", mib / 1024)
                : String.format(Locale.ROOT, "%.0f MiB", mib);
    }
}
