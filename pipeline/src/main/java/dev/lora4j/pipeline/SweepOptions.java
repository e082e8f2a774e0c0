package dev.lora4j.pipeline;

import java.nio.file.Path;
import java.time.Duration;

/**
 * How to run a sweep besides what its file says: where its folder is, whether to resume it, how many intra-op
 * threads each CPU lane uses, and how long an unused base model stays loaded.
 *
 * @param folder the run folder ({@code runs/<sweep>}); trials write under {@code trials/<id>/}
 * @param resume keep finished trials, continue interrupted ones from their last checkpoint
 * @param cpuThreadsPerLane intra-op threads of each CPU lane; the CPU gets {@code cores / this} lanes
 * @param keepCheckpoints checkpoints kept per trial besides the best (0 = the training config's save_total_limit)
 * @param modelIdleRelease how long a base model no trial uses stays loaded
 */
public record SweepOptions(Path folder, boolean resume, int cpuThreadsPerLane, int keepCheckpoints,
        Duration modelIdleRelease) {

    public static SweepOptions in(Path folder) {
        return new SweepOptions(folder, false, 1, 0, Duration.ofSeconds(30));
    }

    public SweepOptions resuming(boolean r) {
        return new SweepOptions(folder, r, cpuThreadsPerLane, keepCheckpoints, modelIdleRelease);
    }

    public SweepOptions withCpuThreadsPerLane(int n) {
        return new SweepOptions(folder, resume, n, keepCheckpoints, modelIdleRelease);
    }

    public SweepOptions withModelIdleRelease(Duration d) {
        return new SweepOptions(folder, resume, cpuThreadsPerLane, keepCheckpoints, d);
    }
}
