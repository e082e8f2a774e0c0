package dev.lora4j.cli;

import picocli.CommandLine.Option;

/** How the CPU is split into lanes ({@code sweep}, {@code worker}): checked before anything is loaded. */
final class CpuOptions {
    @Option(names = "--cpu-lanes", paramLabel = "N", description = "trials training side by side on the CPU, 1 to the"
            + " machine's cores (default: one per core)")
    Integer cpuLanes;

    @Option(names = "--threads-per-lane", paramLabel = "N", defaultValue = "1",
            description = "intra-op threads of each CPU lane, 1 to the machine's cores (default: ${DEFAULT-VALUE})")
    int threadsPerLane;

    /** Refuses numbers beyond the machine's cores, naming the option. */
    CpuOptions check() {
        if (cpuLanes != null) {
            OptionChecks.oneToCores("--cpu-lanes", cpuLanes);
        }
        OptionChecks.oneToCores("--threads-per-lane", threadsPerLane);
        return this;
    }

    /** The lanes asked for, 0 for one per {@link #threadsPerLane} cores. */
    int lanes() {
        return cpuLanes == null ? 0 : cpuLanes;
    }
}
