package dev.lora4j.api;

import dev.lora4j.actors.AshaScheduler;
import dev.lora4j.actors.DevicePool;
import dev.lora4j.actors.HyperbandStopping;
import dev.lora4j.actors.PopulationBasedTraining;
import dev.lora4j.actors.StopRule;
import dev.lora4j.actors.TrialFiles;
import dev.lora4j.actors.TrialSession;
import dev.lora4j.run.Device;
import dev.lora4j.sweep.Asha;
import dev.lora4j.sweep.Goal;
import dev.lora4j.sweep.Hyperband;
import dev.lora4j.sweep.Pbt;
import dev.lora4j.sweep.SweepSpec;
import dev.lora4j.train.MemoryEstimate;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.ToIntFunction;
import org.slf4j.LoggerFactory;

/**
 * Everything one sweep runs with: its spec and options, the instance's shared actors, its event hub, its trial
 * files, the lock on its run folder, the cancel flag every stage reads, the flag set once a trial reached
 * {@code metric.target} (no trial starts after it; running ones finish), and how its trials are run (devices,
 * retries, early termination).
 */
record SweepRun(SweepSpec spec, SweepOptions options, Workers.Refs workers, EventHub hub, TrialFiles.Factory files,
        RunLock lock, AtomicBoolean cancelled, AtomicBoolean targetReached, CompletableFuture<SweepReport> report,
        TrialSession.Plan plan, int slots) {

    static SweepRun of(SweepSpec spec, SweepOptions options, Workers.Refs workers, EventHub hub,
            TrialFiles.Factory files, RunLock lock) {
        List<DevicePool.DeviceLayout> layout = options.localLanes() ? Devices.layout(spec.base().resources(),
                options.cpuLanes(), options.cpuThreadsPerLane(), Runtime.getRuntime().availableProcessors(),
                fitting(spec)) : List.of();
        int slots = layout.stream().mapToInt(d -> d.lanes() * d.trialsPerLane()).sum();
        int remote = 0;
        if (workers.clustered()) {
            // workers come and go: trials wait for their lanes in the pool, in the order they came
            remote = spec.base().resources().trialsPerDevice();
            slots += workers.system().settings().config().getInt("lora4j.cluster.trials-in-flight");
        } else if (!options.localLanes()) {
            throw new IllegalArgumentException("a sweep without this node's lanes needs a cluster (a coordinator's"
                    + " workers train it): start lora4j with Lora4j.coordinator(...)");
        }
        TrialSession.Plan plan = new TrialSession.Plan(workers.services(), layout, remote, spec.metric().name(),
                spec.metric().goal() == Goal.MAXIMIZE, spec.base().resources().maxFailures().orElse(0),
                options.keepCheckpoints(), options.resume(), stopRule(spec, options.folder()), hub.input());
        return new SweepRun(spec, options, workers, hub, files, lock, new AtomicBoolean(), new AtomicBoolean(),
                new CompletableFuture<>(),
                plan, slots);
    }

    /**
     * {@code trials_per_device: auto}: how many of the sweep's largest trial fit on a device (the estimate, made once
     * per kind of device: it reads the weights' headers and looks at the sweep's trials).
     */
    private static ToIntFunction<Device> fitting(SweepSpec spec) {
        Map<Boolean, MemoryEstimate.Estimate> estimates = new HashMap<>();
        return d -> {
            ai.djl.Device device = d.kind() == Device.Kind.CPU ? ai.djl.Device.cpu() : ai.djl.Device.gpu(d.index());
            MemoryEstimate.Estimate e = estimates.computeIfAbsent(device.isGpu(),
                    gpu -> MemoryEstimate.forSweep(spec, gpu));
            int n = e.trialsPerDevice(MemoryEstimate.freeBytes(device));
            LoggerFactory.getLogger(SweepRun.class).info("trials_per_device auto on {}: {} trial(s) fit (one"
                    + " trial's peak {} MiB, of which {} MiB per trial)", d, Math.max(1, n), e.peakBytes() >> 20,
                    e.perTrialBytes() >> 20);
            return n;
        };
    }

    /**
     * ASHA with rungs that count evaluations (rung k is at grace * eta^k evaluations of eval_steps each), or W&B's
     * Hyperband, whose bands count evaluations as they come, or population-based training (its interval counts
     * steps).
     */
    private static StopRule stopRule(SweepSpec spec, Path folder) {
        boolean maximize = spec.metric().goal() == Goal.MAXIMIZE;
        return spec.earlyTerminate().map(t -> {
            if (t instanceof Pbt pbt) {
                return (StopRule) new PopulationBasedTraining(pbt, spec.metric().name(), maximize,
                        folder.resolve("trials"), spec.trials()::reconfigured);
            }
            if (t instanceof Hyperband h) {
                return (StopRule) new HyperbandStopping(h.bands(), h.eta(), h.strict(), spec.metric().name(),
                        maximize);
            }
            return (StopRule) new AshaScheduler((Asha) t, spec.base().training().evalSteps().orElse(1),
                    spec.metric().name(), maximize);
        }).orElse(null);
    }
}
