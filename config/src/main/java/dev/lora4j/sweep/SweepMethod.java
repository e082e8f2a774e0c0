package dev.lora4j.sweep;

/** How a sweep picks its trials: every point of a grid, or a fixed number of seeded random draws. */
public sealed interface SweepMethod {
    /** The name files use. */
    String json();

    /** The cartesian product of every parameter's values, the first parameter varying slowest. */
    record Grid() implements SweepMethod {
        @Override
        public String json() {
            return "grid";
        }
    }

    /** {@code trials} draws; the same seed gives the same draws, on any JVM. */
    record Random(long trials, long seed) implements SweepMethod {
        @Override
        public String json() {
            return "random";
        }
    }
}
