package dev.lora4j.cli;

import dev.lora4j.api.ClusterOptions;
import dev.lora4j.api.Lora4jWorker;
import dev.lora4j.api.WorkerOptions;
import dev.lora4j.files.AtomicFiles;
import dev.lora4j.run.Device;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lora4j worker --join HOST:PORT}: offers this machine's devices to a coordinator ({@code sweep --cluster})
 * and trains the trials it sends, until the coordinator's sweep ends. If the coordinator is lost instead (it crashed,
 * or the network cut it off), the worker waits for it to come back at the same address ({@code sweep --resume}) and
 * joins again.
 */
@Command(name = "worker", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = {"Joins a coordinator (bin/lora4j sweep ... --cluster) and trains the trials it sends on this"
                + " machine's devices.", "",
            "The model folder must be at the same path as on the coordinator (or a builtin: model); data files,"
                    + " checkpoints and adapters travel over the cluster."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:the coordinator's sweep ended (or Ctrl-C)", "2:an option is invalid, or the address"
                + " cannot be bound"})
public final class WorkerCommand implements Callable<Integer> {
    @Option(names = "--join", required = true, paramLabel = "HOST:PORT",
            description = "the coordinator's address (what sweep --cluster prints)")
    String join;

    @Option(names = "--bind", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:0",
            description = "the address the coordinator reaches this worker at; port 0 picks a free one"
                    + " (default: ${DEFAULT-VALUE}); any address other than 127.0.0.1 must be asked for")
    String bind;

    @Option(names = "--devices", paramLabel = "cpu|gpu:0,gpu:1|auto", defaultValue = "auto",
            description = "the devices to offer (default: ${DEFAULT-VALUE}: every GPU, else the CPU)")
    String devices;

    @Mixin CpuOptions cpu;

    @Option(names = "--work-dir", paramLabel = "DIR", description = "scratch folder for the coordinator's data files"
            + " and staged checkpoints (default: <tmp>/lora4j-worker)")
    Path workDir;

    @Mixin TlsOptions tlsOptions;

    @Spec CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        cpu.check();
        ClusterOptions.HostPort coordinator = ClusterOptions.parse(join, "--join");
        if (coordinator.port() == 0) {
            throw new IllegalArgumentException("--join: the coordinator's port must be 1 to 65535, got 0");
        }
        ClusterOptions.HostPort self = ClusterOptions.parse(bind, "--bind");
        ClusterOptions cluster = ClusterOptions.worker(coordinator.host(), coordinator.port(), self.host(),
                self.port()).withTls(tlsOptions.tls(System.getenv()));
        Path dir = workDir != null ? workDir : Path.of(System.getProperty("java.io.tmpdir"), "lora4j-worker");
        AtomicFiles.requireWritableFolder(dir, "--work-dir");
        WorkerOptions options = new WorkerOptions(devices(devices), cpu.lanes(), cpu.threadsPerLane,
                dir);
        PrintWriter out = spec.commandLine().getOut();
        AtomicReference<Lora4jWorker> current = new AtomicReference<>();
        Interrupts.onCtrlC(() -> {
            Lora4jWorker w = current.getAndSet(null);
            if (w != null) {
                // leaving on purpose: the coordinator retries this worker's trials elsewhere at once
                w.close();
            }
            Runtime.getRuntime().halt(0);
        });
        while (true) {
            Lora4jWorker w = SweepCommand.binding(self, () -> Lora4jWorker.join(cluster, options));
            current.set(w);
            println(out, "lora4j: worker " + w.address() + " joining the coordinator at " + coordinator
                    + " (Ctrl-C to leave)");
            w.joined().thenAccept(a -> println(out, "lora4j: worker " + a + " joined; training what the coordinator"
                    + " sends"));
            Lora4jWorker.Exit exit = w.exit().toCompletableFuture().join();
            w.close();
            if (exit != Lora4jWorker.Exit.COORDINATOR_LOST) {
                println(out, "lora4j: worker " + w.address() + ": the coordinator's sweep ended; exiting");
                return 0;
            }
            println(out, "lora4j: worker " + w.address() + ": lost the coordinator at " + coordinator
                    + "; waiting for it to come back (e.g. sweep --resume)");
            Thread.sleep(1000);
        }
    }

    private static void println(PrintWriter out, String line) {
        synchronized (out) {
            out.println(line);
            out.flush();
        }
    }

    /** {@code auto}, or a comma-separated list of {@code cpu} and {@code gpu:N}. */
    static List<Device> devices(String text) {
        if (text.strip().equals("auto")) {
            return List.of();
        }
        List<Device> out = new ArrayList<>();
        for (String part : text.split(",")) {
            Device d = Device.parse(part.strip()).orElseThrow(() -> new IllegalArgumentException("--devices: \""
                    + part.strip() + "\" is not a device; use cpu, gpu:N (comma-separated) or auto"));
            if (out.contains(d)) {
                throw new IllegalArgumentException("--devices: " + d + " is listed twice");
            }
            out.add(d);
        }
        return out;
    }
}
