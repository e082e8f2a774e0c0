package dev.lora4j.sweep;

import java.util.OptionalInt;

/**
 * Asynchronous successive halving: at each rung (grace_period, grace_period * reduction_factor, ... evaluations) a
 * trial continues only if its metric is in the best 1/reduction_factor of the trials that reached that rung.
 * Rungs count evaluations, which happen every {@code training.eval_steps} steps.
 */
public final class Asha implements EarlyTerminate {
    private final int gracePeriod;
    private final int reductionFactor;
    private final Integer maxT;

    /** {@code maxT} null: a trial's own number of evaluations. */
    public Asha(int gracePeriod, int reductionFactor, Integer maxT) {
        this.gracePeriod = gracePeriod;
        this.reductionFactor = reductionFactor;
        this.maxT = maxT;
    }

    @Override
    public String json() {
        return "asha";
    }

    public int gracePeriod() {
        return gracePeriod;
    }

    public int reductionFactor() {
        return reductionFactor;
    }

    /** The last rung; empty: a trial's own number of evaluations. */
    public OptionalInt maxT() {
        return maxT == null ? OptionalInt.empty() : OptionalInt.of(maxT);
    }

    /**
     * The optimizer steps of the rungs when an evaluation comes every {@code evalSteps} steps: grace_period,
     * grace_period * reduction_factor, ... evaluations, below max_t (or below 2^40 steps without one).
     */
    public java.util.List<Long> rungSteps(long evalSteps) {
        long end = maxT == null ? 1L << 40 : (long) maxT * evalSteps;
        java.util.List<Long> out = new java.util.ArrayList<>();
        for (long r = gracePeriod * evalSteps; r < end; r *= reductionFactor) {
            out.add(r);
        }
        return java.util.List.copyOf(out);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Asha a && gracePeriod == a.gracePeriod && reductionFactor == a.reductionFactor
                && java.util.Objects.equals(maxT, a.maxT);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(gracePeriod, reductionFactor, maxT);
    }

    @Override
    public String toString() {
        return "asha(grace_period=" + gracePeriod + ", reduction_factor=" + reductionFactor + ", max_t="
                + (maxT == null ? "null" : maxT) + ")";
    }
}
