package dev.lora4j.sweep;

/**
 * The SplitMix64 generator, written out here rather than taken from the JDK so that a seed gives the same draws on
 * every JVM version, and seeded per trial so that trial N can be drawn without drawing trials 0..N-1.
 */
final class SplitMix64 {
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private long state;

    private SplitMix64(long state) {
        this.state = state;
    }

    /** The generator of draw {@code index} of a sweep seeded with {@code seed}. */
    static SplitMix64 forTrial(long seed, long index) {
        return new SplitMix64(mix(seed ^ mix(index * GOLDEN + GOLDEN)));
    }

    long nextLong() {
        state += GOLDEN;
        return mix(state);
    }

    /** Uniform in [0, 1) with 53 random bits. */
    double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    /** Uniform in [0, n); the modulo bias is below 2^-40 for the sizes a sweep has. */
    long nextLong(long n) {
        return Long.remainderUnsigned(nextLong(), n);
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
