package dev.lora4j.sweep;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * W&B's Hyperband stopping ({@code early_terminate: {type: hyperband, ...}}, wandb/sweeps
 * {@code hyperband_stopping.py}, {@code hyperband_stop_runs}): at each band (a number of evaluations) a running
 * trial stops when its metric is worse than the {@code 1/eta} quantile of every trial's metric at that band. The bands
 * come either from {@code max_iter} and {@code s} ({@code max_iter / eta}, {@code / eta^2}, ... {@code s} of them,
 * at least 1, rounded down: the rungs below {@code max_iter} of Li et al.'s bracket {@code s}) or from
 * {@code min_iter} ({@code min_iter}, {@code min_iter * eta}, ...). Bands count evaluations, every
 * {@code training.eval_steps} steps, as W&B's count logged values.
 *
 * @param bands ascending numbers of evaluations
 * @param eta the reduction factor, > 1
 * @param strict W&B's default (true): a trial is judged by its value at the band; false: by its best so far
 */
public record Hyperband(List<Long> bands, double eta, boolean strict) implements EarlyTerminate {
    /** No trial reaches this many evaluations: min_iter's bands stop here. */
    private static final double LAST_BAND = 1e12;

    public Hyperband {
        bands = List.copyOf(Objects.requireNonNull(bands, "bands"));
    }

    @Override
    public String json() {
        return "hyperband";
    }

    /** W&B's bands from {@code max_iter} and {@code s}: {@code int(max_iter / eta^k)} for k = 1..s while >= 1. */
    public static List<Long> fromMaxIter(long maxIter, int s, double eta) {
        List<Long> out = new ArrayList<>();
        double band = maxIter;
        for (int i = 0; i < s; i++) {
            band /= eta;
            if (band < 1) {
                break;
            }
            out.add((long) band);
        }
        out.sort(null);
        return out;
    }

    /** W&B's bands from {@code min_iter}: {@code int(min_iter * eta^k)} for k = 0..99 (here: while reachable). */
    public static List<Long> fromMinIter(long minIter, double eta) {
        List<Long> out = new ArrayList<>();
        double band = minIter;
        for (int i = 0; i < 100 && band < LAST_BAND; i++) {
            out.add((long) band);
            band *= eta;
        }
        return out;
    }

    @Override
    public String toString() {
        return "hyperband(bands=" + bands + ", eta=" + eta + ", strict=" + strict + ")";
    }
}
