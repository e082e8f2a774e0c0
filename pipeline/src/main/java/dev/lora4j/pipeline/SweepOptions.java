package dev.lora4j.pipeline;

import java.nio.file.Path;
import java.time.Duration;

/**
 * How to run a sweep besides what its file says: where its folder is, whether to resume it, how the CPU is split into
 * lanes, and how long an unused base model stays loaded.
 *
 * @param folder the run folder ({@code runs/<sweep>}); trials write under {@code trials/<id>/}
 * @param resume keep finished trials, continue interrupted ones from their last checkpoint
 * @param cpuLanes CPU lanes training side by side (0: one per {@code cpuThreadsPerLane} cores)
 * @param cpuThreadsPerLane intra-op threads of each CPU lane
 * @param keepCheckpoints checkpoints kept per trial besides the best (0: the training config's save_total_limit)
 * @param modelIdleRelease how long a base model no trial uses stays loaded
 */
public record SweepOptions(Path folder, boolean resume, int cpuLanes, int cpuThreadsPerLane, int keepCheckpoints,
        Duration modelIdleRelease) {

    public static SweepOptions in(Path folder) {
        return new SweepOptions(folder, false, 0, 1, 0, Duration.ofSeconds(30));
    }

    public SweepOptions resuming(boolean r) {
        return new SweepOptions(folder, r, cpuLanes, cpuThreadsPerLane, keepCheckpoints, modelIdleRelease);
    }

    public SweepOptions withCpu(int lanes, int threadsPerLane) {
        return new SweepOptions(folder, resume, lanes, threadsPerLane, keepCheckpoints, modelIdleRelease);
    }

    public SweepOptions withModelIdleRelease(Duration d) {
        return new SweepOptions(folder, resume, cpuLanes, cpuThreadsPerLane, keepCheckpoints, d);
    }
}
