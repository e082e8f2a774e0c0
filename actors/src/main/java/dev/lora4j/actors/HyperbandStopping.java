package dev.lora4j.actors;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * W&B's Hyperband stopping (wandb/sweeps {@code hyperband_stopping.py}, {@code hyperband_stop_runs}), consulted at
 * each evaluation of a trial instead of at each poll of W&B's controller. A trial's history is its metric at each
 * evaluation, in step order (NaN left out, as W&B's {@code filter_invalid}). At a band b (a number of evaluations)
 * the threshold is {@code sorted(values at evaluation b of every trial that has b)[int(len / eta)]}; a trial whose
 * latest band is b stops when its value at b (strict, W&B's default) or its best so far is worse than it. Histories
 * of every trial count, ended ones included, and a resumed sweep replays them. Thread-safe.
 */
public final class HyperbandStopping implements StopRule {
    private final List<Long> bands;
    private final double eta;
    private final boolean strict;
    private final String metric;
    private final boolean maximize;
    /** Each trial's metric by step, oriented so that lower is better. */
    private final Map<String, TreeMap<Long, Double>> histories = new HashMap<>();

    /**
     * @param bands ascending numbers of evaluations
     * @param eta the reduction factor, > 1
     * @param strict judge by the value at the band (W&B's default), else by the best so far
     */
    public HyperbandStopping(List<Long> bands, double eta, boolean strict, String metric, boolean maximize) {
        if (bands.isEmpty() || !(eta > 1)) {
            throw new IllegalArgumentException("hyperband needs at least one band and eta > 1");
        }
        this.bands = List.copyOf(bands);
        this.eta = eta;
        this.strict = strict;
        this.metric = metric;
        this.maximize = maximize;
    }

    @Override
    public synchronized String shouldStop(String trialId, long step, Map<String, Double> metrics) {
        if (!record(trialId, step, metrics)) {
            return null;
        }
        List<Double> history = new ArrayList<>(histories.get(trialId).values());
        long band = -1;
        for (long b : bands) {
            if (b <= history.size()) {
                band = b;
            } else {
                break;
            }
        }
        if (band < 0) {
            return null;
        }
        List<Double> atBand = new ArrayList<>();
        for (TreeMap<Long, Double> h : histories.values()) {
            if (h.size() >= band) {
                atBand.add(new ArrayList<>(h.values()).get((int) band - 1));
            }
        }
        atBand.sort(null);
        double threshold = atBand.get((int) (atBand.size() / eta));
        double value = strict ? history.get((int) band - 1)
                : history.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
        if (value > threshold) {
            return String.format(Locale.ROOT, "hyperband: %s %.4g at band %d (evaluations) is worse than the "
                    + "threshold %.4g of the %d trials that reached it (best 1/%s go on)", metric,
                    maximize ? -value : value, band, maximize ? -threshold : threshold, atBand.size(),
                    eta == Math.rint(eta) ? Long.toString((long) eta) : Double.toString(eta));
        }
        return null;
    }

    @Override
    public synchronized void replay(String trialId, long step, Map<String, Double> metrics) {
        record(trialId, step, metrics);
    }

    private boolean record(String trialId, long step, Map<String, Double> metrics) {
        Double v = metrics.get(metric);
        if (v == null || !Double.isFinite(v)) {
            return false;
        }
        histories.computeIfAbsent(trialId, k -> new TreeMap<>()).put(step, maximize ? -v : v);
        return true;
    }
}
