package dev.lora4j.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The process's memory as the kernel reports it (libtorch allocates outside the Java heap). */
public final class Memory {
    private Memory() {}

    /** Peak resident set size in MB ({@code VmHWM}), or -1 where /proc is not available. */
    public static long peakRssMb() {
        return statusKb("VmHWM:") / 1024;
    }

    /** Current resident set size in MB. */
    public static long rssMb() {
        return statusKb("VmRSS:") / 1024;
    }

    private static long statusKb(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(key)) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1024;
        }
        return -1024;
    }
}
