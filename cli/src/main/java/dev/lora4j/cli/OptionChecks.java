package dev.lora4j.cli;

/**
 * Range checks of numeric options, refused before anything is loaded in one line naming the option and what is
 * allowed: {@code --threads must be 1 to 16 (this machine's cores), got 0}.
 */
final class OptionChecks {
    private OptionChecks() {}

    /** The cores the JVM may use (a container's CPU limit included). */
    static int cores() {
        return Runtime.getRuntime().availableProcessors();
    }

    static void atLeast(String option, int value, int min) {
        if (value < min) {
            throw new IllegalArgumentException(option + " must be >= " + min + ", got " + value);
        }
    }

    /**
     * Threads or lanes: at least 1 and at most the machine's cores. More would not run faster (each lane or thread
     * competes for the same cores) and, far beyond them, starts thousands of threads; so it is refused, not quietly
     * lowered.
     */
    static void oneToCores(String option, int value) {
        int cores = cores();
        if (value < 1 || value > cores) {
            throw new IllegalArgumentException(option + " must be 1 to " + cores + " (this machine's cores), got "
                    + value);
        }
    }
}
