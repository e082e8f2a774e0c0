package dev.lora4j.api;

import java.nio.file.Path;

/**
 * How to run a sweep besides what its file says: where its folder is, whether to resume it, and how the CPU is split
 * into lanes.
 *
 * @param folder the run folder ({@code runs/<sweep>}); trials write under {@code trials/<id>/}
 * @param resume keep the trials that ended, continue interrupted ones from their last checkpoint
 * @param cpuLanes CPU lanes training side by side (0: one per {@code cpuThreadsPerLane} cores; at most the machine's
 *     cores); the first sweep of a {@link Lora4j} that uses the CPU decides its lanes, later sweeps share them
 * @param cpuThreadsPerLane intra-op threads of each CPU lane, 1 to the machine's cores
 * @param keepCheckpoints checkpoints kept per trial besides the best (0: the training config's save_total_limit)
 * @param localLanes train on this node's devices; false: only on the workers of a cluster ({@code --no-local})
 */
public record SweepOptions(Path folder, boolean resume, int cpuLanes, int cpuThreadsPerLane, int keepCheckpoints,
        boolean localLanes) {

    /**
     * Checks the numbers: lanes and threads are bounded by this machine's cores (more would only compete for them,
     * and far more starts thousands of threads).
     *
     * @param folder the run folder
     * @param resume keep the trials that ended, continue interrupted ones
     * @param cpuLanes CPU lanes, 0 for one per {@code cpuThreadsPerLane} cores, at most the machine's cores
     * @param cpuThreadsPerLane intra-op threads of each CPU lane, 1 to the machine's cores
     * @param keepCheckpoints checkpoints kept per trial besides the best, 0 or more
     * @param localLanes train on this node's devices too
     * @throws IllegalArgumentException naming the number and what is allowed
     */
    public SweepOptions {
        Devices.checkCpu(cpuLanes, cpuThreadsPerLane);
        if (keepCheckpoints < 0) {
            throw new IllegalArgumentException("keepCheckpoints must be >= 0, got " + keepCheckpoints);
        }
    }

    /**
     * A fresh sweep in {@code folder}: one CPU lane per core, one thread each.
     *
     * @param folder the run folder
     * @return the options
     */
    public static SweepOptions in(Path folder) {
        return new SweepOptions(folder, false, 0, 1, 0, true);
    }

    /**
     * @param r whether to keep what ended and continue the rest
     * @return these options, resuming or not
     */
    public SweepOptions resuming(boolean r) {
        return new SweepOptions(folder, r, cpuLanes, cpuThreadsPerLane, keepCheckpoints, localLanes);
    }

    /**
     * @param lanes CPU lanes side by side, 0 for one per {@code threadsPerLane} cores
     * @param threadsPerLane intra-op threads of each lane
     * @return these options with that CPU layout
     */
    public SweepOptions withCpu(int lanes, int threadsPerLane) {
        return new SweepOptions(folder, resume, lanes, threadsPerLane, keepCheckpoints, localLanes);
    }

    /**
     * @param n checkpoints kept per trial besides the best, 0 for the training config's save_total_limit
     * @return these options keeping that many
     */
    public SweepOptions keepingCheckpoints(int n) {
        return new SweepOptions(folder, resume, cpuLanes, cpuThreadsPerLane, n, localLanes);
    }

    /**
     * @param local whether trials may train on this node's devices (false: a cluster's workers only)
     * @return these options with or without this node's lanes
     */
    public SweepOptions withLocalLanes(boolean local) {
        return new SweepOptions(folder, resume, cpuLanes, cpuThreadsPerLane, keepCheckpoints, local);
    }
}
