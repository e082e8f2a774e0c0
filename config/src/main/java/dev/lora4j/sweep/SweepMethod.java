package dev.lora4j.sweep;

/**
 * How a sweep picks its trials: every point of a grid, a fixed number of seeded random draws, or Bayesian
 * optimisation (TPE) that learns from the trials that ended.
 */
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

    /**
     * {@code trials} proposals of the {@link Tpe} sampler: the first {@code startupTrials} measured ones are random
     * draws (the random sweep's draws for the same seed), the rest learn from the trials that ended.
     */
    record Bayes(long trials, long seed, int startupTrials) implements SweepMethod {
        @Override
        public String json() {
            return "bayes";
        }
    }
}
