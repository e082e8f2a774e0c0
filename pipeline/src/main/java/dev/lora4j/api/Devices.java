package dev.lora4j.api;

import dev.lora4j.actors.DevicePool;
import dev.lora4j.run.Device;
import dev.lora4j.run.Resources;
import dev.lora4j.runtime.Torch;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToIntFunction;

/**
 * Turns a sweep's {@code resources} into device lanes. A GPU is one lane with {@code trials_per_device} trials taking
 * turns. The CPU is split into {@code cores / threadsPerLane} lanes running side by side, each with
 * {@code trials_per_device} trials: on small models, trials on separate cores with one intra-op thread each train
 * faster together than one trial using every core (see docs/performance.md).
 */
final class Devices {
    private Devices() {}

    /** Refuses CPU lanes or threads beyond this machine's cores (more would only compete for them). */
    static void checkCpu(int cpuLanes, int cpuThreadsPerLane) {
        int cores = Runtime.getRuntime().availableProcessors();
        if (cpuLanes < 0 || cpuLanes > cores) {
            throw new IllegalArgumentException("cpuLanes must be 0 (one per core) to " + cores
                    + " (this machine's cores), got " + cpuLanes);
        }
        if (cpuThreadsPerLane < 1 || cpuThreadsPerLane > cores) {
            throw new IllegalArgumentException("cpuThreadsPerLane must be 1 to " + cores + " (this machine's cores),"
                    + " got " + cpuThreadsPerLane);
        }
    }

    static List<DevicePool.DeviceLayout> layout(Resources r, int cpuLanes, int cpuThreadsPerLane, int cores) {
        return layout(r, cpuLanes, cpuThreadsPerLane, cores, d -> 1);
    }

    /**
     * As {@link #layout(Resources, int, int, int)}; with {@code trials_per_device: auto}, {@code fits} says how many
     * trials fit on a device (from the memory estimate): a GPU's lane takes that many (at least one), the CPU's
     * lanes share them (fewer lanes when fewer fit).
     */
    static List<DevicePool.DeviceLayout> layout(Resources r, int cpuLanes, int cpuThreadsPerLane, int cores,
            ToIntFunction<Device> fits) {
        List<Device> devices = r.devices();
        if (r.autoDevices()) {
            int gpus = Torch.engine().getGpuCount();
            devices = new ArrayList<>();
            for (int i = 0; i < gpus; i++) {
                devices.add(Device.gpu(i));
            }
            if (devices.isEmpty()) {
                devices.add(Device.CPU);
            }
        }
        List<DevicePool.DeviceLayout> out = new ArrayList<>();
        for (Device d : devices) {
            if (d.kind() == Device.Kind.CPU) {
                int threads = Math.max(1, Math.min(cpuThreadsPerLane, cores));
                int lanes = cpuLanes > 0 ? cpuLanes : Math.max(1, cores / threads);
                int perLane = r.trialsPerDevice();
                if (r.autoTrialsPerDevice()) {
                    int n = Math.max(1, fits.applyAsInt(d));
                    lanes = Math.min(lanes, n);
                    perLane = Math.max(1, n / lanes);
                }
                out.add(new DevicePool.DeviceLayout("cpu", lanes, perLane, threads));
            } else {
                int perLane = r.autoTrialsPerDevice() ? Math.max(1, fits.applyAsInt(d)) : r.trialsPerDevice();
                out.add(new DevicePool.DeviceLayout(d.toString(), 1, perLane, 1));
            }
        }
        return out;
    }
}
