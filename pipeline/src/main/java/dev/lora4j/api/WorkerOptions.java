package dev.lora4j.api;

import dev.lora4j.run.Device;
import java.nio.file.Path;
import java.util.List;

/**
 * What a worker offers its coordinator: its devices and how its CPU is split into lanes, and where it keeps the data
 * files it fetches and the checkpoints it stages.
 *
 * @param devices the devices to train on; empty: every GPU found, else the CPU
 * @param cpuLanes CPU lanes training side by side (0: one per {@code cpuThreadsPerLane} cores; at most the cores)
 * @param cpuThreadsPerLane intra-op threads of each CPU lane, 1 to the machine's cores
 * @param workDir the worker's scratch folder (a cache of the coordinator's data files and staged checkpoints)
 */
public record WorkerOptions(List<Device> devices, int cpuLanes, int cpuThreadsPerLane, Path workDir) {
    /**
     * Checks the numbers against this machine's cores.
     *
     * @param devices the devices, empty for auto
     * @param cpuLanes CPU lanes, 0 to the machine's cores
     * @param cpuThreadsPerLane threads per CPU lane, 1 to the machine's cores
     * @param workDir the scratch folder
     * @throws IllegalArgumentException naming the number and what is allowed
     */
    public WorkerOptions {
        devices = List.copyOf(devices);
        Devices.checkCpu(cpuLanes, cpuThreadsPerLane);
    }

    /**
     * Every GPU found, else the CPU with one lane per core, scratch files under {@code workDir}.
     *
     * @param workDir the scratch folder
     * @return the options
     */
    public static WorkerOptions in(Path workDir) {
        return new WorkerOptions(List.of(), 0, 1, workDir);
    }

    /**
     * @param d the devices to train on, empty for every GPU found (else the CPU)
     * @return these options with those devices
     */
    public WorkerOptions withDevices(List<Device> d) {
        return new WorkerOptions(d, cpuLanes, cpuThreadsPerLane, workDir);
    }

    /**
     * @param lanes CPU lanes side by side, 0 for one per {@code threadsPerLane} cores
     * @param threadsPerLane intra-op threads of each lane
     * @return these options with that CPU layout
     */
    public WorkerOptions withCpu(int lanes, int threadsPerLane) {
        return new WorkerOptions(devices, lanes, threadsPerLane, workDir);
    }
}
