package dev.lora4j.actors;

import dev.lora4j.sweep.Asha;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Asynchronous successive halving (ASHA, Li et al. 2018), as Ray Tune's AsyncHyperBand applies it: rungs at
 * {@code grace_period * reduction_factor^k} optimizer steps up to {@code max_t}; a trial reaching a rung is stopped
 * if its metric is worse than the {@code 1 - 1/reduction_factor} quantile of every result recorded at that rung so
 * far (itself included), so only about the best 1/η of trials go on. Decisions are immediate: no trial waits for
 * others. Thread-safe: trainers of all lanes consult one scheduler.
 */
public final class AshaScheduler implements StopRule {
    private final List<Long> rungs;
    private final int eta;
    private final String metric;
    private final boolean maximize;
    private final Map<Long, List<Double>> recorded = new HashMap<>();
    private final Map<String, Set<Long>> passed = new HashMap<>();

    /**
     * @param asha      the sweep's early termination
     * @param evalSteps optimizer steps between evaluations: the rungs are {@link Asha#rungSteps} of it
     */
    public AshaScheduler(Asha asha, long evalSteps, String metric, boolean maximize) {
        if (asha.gracePeriod() < 1 || asha.reductionFactor() < 2 || evalSteps < 1) {
            throw new IllegalArgumentException("ASHA needs grace_period >= 1, reduction_factor >= 2 and"
                    + " eval_steps >= 1");
        }
        this.rungs = asha.rungSteps(evalSteps);
        this.eta = asha.reductionFactor();
        this.metric = metric;
        this.maximize = maximize;
    }

    public List<Long> rungs() {
        return rungs;
    }

    /** The steps at which a trial must be evaluated for the scheduler to see it at a rung. */
    @Override
    public Set<Long> evaluationSteps() {
        return Set.copyOf(rungs);
    }

    @Override
    public synchronized String shouldStop(String trialId, long step, Map<String, Double> metrics) {
        return record(trialId, step, metrics, true);
    }

    @Override
    public synchronized void replay(String trialId, long step, Map<String, Double> metrics) {
        record(trialId, step, metrics, false);
    }

    private String record(String trialId, long step, Map<String, Double> metrics, boolean decide) {
        Double value = metrics.get(metric);
        if (value == null || value.isNaN()) {
            return null;
        }
        Set<Long> done = passed.computeIfAbsent(trialId, k -> new HashSet<>());
        for (long rung : rungs) {
            if (step < rung || done.contains(rung)) {
                continue;
            }
            done.add(rung);
            List<Double> values = recorded.computeIfAbsent(rung, k -> new ArrayList<>());
            values.add(value);
            double cutoff = quantile(values, maximize ? 1 - 1.0 / eta : 1.0 / eta);
            boolean worse = maximize ? value < cutoff : value > cutoff;
            if (worse && decide) {
                return String.format(Locale.ROOT, "ASHA: %s %.4g at step %d is not in the best 1/%d of the %d trials"
                        + " that reached this rung (cutoff %.4g)", metric, value, rung, eta, values.size(), cutoff);
            }
        }
        return null;
    }

    /** Linear-interpolation quantile (numpy's default), q in [0, 1]. */
    static double quantile(List<Double> values, double q) {
        List<Double> s = new ArrayList<>(values);
        s.sort(null);
        double pos = q * (s.size() - 1);
        int lo = (int) Math.floor(pos);
        int hi = (int) Math.ceil(pos);
        return s.get(lo) + (s.get(hi) - s.get(lo)) * (pos - lo);
    }
}
