package dev.lora4j.sweep;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The Tree-structured Parzen Estimator of {@code method: bayes}, as Optuna's default {@code TPESampler} does it
 * (optuna/samplers/_tpe/sampler.py and parzen_estimator.py): independent per parameter; the first
 * {@code startup_trials} proposals (10 by default) are random draws; after that the finished trials are split into
 * the best {@code gamma(n) = min(ceil(0.1 n), 25)} and the rest, each group becomes a Parzen estimator (a truncated
 * Gaussian per observation, plus a prior kernel over the whole range of weight 1; sigmas from the gaps to the
 * neighbours, clipped to [range / min(100, 1 + kernels), range]; observation weights 1, ramped for the oldest beyond
 * 25), 24 candidates are drawn from the good one and the one with the highest log l(x) - log g(x) wins.
 *
 * <p>What lora4j adds: failed trials count as bad (they join the rest, as Optuna's running trials do), and proposals
 * made while trials run use the constant liar of Optuna's {@code constant_liar=True}: a running trial counts as bad
 * too, so concurrent proposals spread out. Each proposal draws from a SplitMix64 seeded with the sweep seed and its
 * index, so proposals depend only on the seed and on which results were known, in trial order.
 *
 * <p>Each parameter has an internal coordinate the estimator works in: a value list's or tie's index (categorical),
 * the value or its natural log for a min/max distribution (log for the log families, with integer ranges widened by
 * 1/2 at each end, Optuna's step handling; values are rounded as the distribution rounds them), and the quantile for
 * the unbounded normal families.
 */
public final class Tpe {
    /** Optuna's {@code n_ei_candidates}. */
    public static final int EI_CANDIDATES = 24;
    /** Optuna's {@code n_startup_trials}. */
    public static final int STARTUP_TRIALS = 10;
    private static final double PRIOR_WEIGHT = 1.0;
    private static final long SALT = 0x7E5A_3B1D_C0FF_EE01L;
    private static final double EDGE = 1e-9;

    /**
     * A trial the estimator learns from.
     *
     * @param index the trial's index (observations are weighted in this order)
     * @param internal its coordinates, one per parameter
     * @param value its metric, oriented so that lower is better; null: failed or still running (counts as bad)
     * @param finished false for a trial still running (the constant liar)
     */
    public record Observation(long index, double[] internal, Double value, boolean finished) {
        public Observation {
            Objects.requireNonNull(internal, "internal");
            internal = internal.clone();
        }

        @Override
        public double[] internal() {
            return internal.clone();
        }
    }

    /**
     * A proposed trial.
     *
     * @param index its index
     * @param internal its coordinates, to be recorded with its result
     * @param assignment its values, by canonical field, as {@link Trials} gives them
     */
    public record Proposal(long index, double[] internal, Map<String, JsonNode> assignment) {
        public Proposal {
            internal = internal.clone();
            assignment = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(assignment));
        }

        @Override
        public double[] internal() {
            return internal.clone();
        }
    }

    private final Trials trials;
    private final List<Parameter> parameters;
    private final long seed;
    private final int startup;

    Tpe(Trials trials, List<Parameter> parameters, long seed, int startup) {
        this.trials = trials;
        this.parameters = parameters;
        this.seed = seed;
        this.startup = startup;
    }

    /**
     * Proposal {@code index}, given what is known: random while fewer than {@code startup_trials} trials finished
     * with a value, then TPE.
     *
     * @param observations finished trials (with a value, or failed) and running ones, in any order
     */
    public Proposal propose(long index, List<Observation> observations) {
        long measured = observations.stream().filter(o -> o.finished() && o.value() != null).count();
        if (measured < startup) {
            return decode(index, startupDraw(index));
        }
        List<Observation> sorted = new ArrayList<>(observations);
        sorted.sort(Comparator.comparingLong(Observation::index));
        int finished = (int) sorted.stream().filter(Observation::finished).count();
        int nBelow = (int) Math.min(Math.min(Math.ceil(0.1 * finished), 25), measured);
        List<Observation> valued = new ArrayList<>(sorted.stream().filter(o -> o.finished() && o.value() != null)
                .toList());
        valued.sort(Comparator.comparingDouble(Observation::value)); // stable: ties keep trial order
        java.util.Set<Observation> below = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        below.addAll(valued.subList(0, nBelow));
        List<Observation> good = sorted.stream().filter(below::contains).toList();
        List<Observation> bad = sorted.stream().filter(o -> !below.contains(o)).toList();
        SplitMix64 rng = SplitMix64.forTrial(seed ^ SALT, index);
        double[] x = new double[parameters.size()];
        for (int i = 0; i < parameters.size(); i++) {
            Space space = space(parameters.get(i));
            if (space == null) {
                continue;
            }
            x[i] = choose(space, column(good, i), column(bad, i), rng);
        }
        return decode(index, x);
    }

    /** The proposal with these coordinates: a logged one, replayed by a resumed sweep. */
    public Proposal at(long index, double[] internal) {
        return decode(index, internal.clone());
    }

    /** The coordinates random draw {@code index} has: the draws of a random sweep with the same seed. */
    double[] startupDraw(long index) {
        SplitMix64 rng = SplitMix64.forTrial(seed, index);
        double[] x = new double[parameters.size()];
        for (int i = 0; i < parameters.size(); i++) {
            Domain d = parameters.get(i).domain();
            if (d instanceof Domain.Values v) {
                x[i] = v.probabilities().isEmpty() ? rng.nextLong(v.values().size()) : v.index(rng.nextDouble());
            } else if (d instanceof Domain.Tied t) {
                x[i] = rng.nextLong(t.factors().size());
            } else if (d instanceof Domain.Range r) {
                double u = rng.nextDouble();
                x[i] = r.distribution() == Distribution.INT_UNIFORM ? r.draw(u) : numeric(r).low()
                        + u * (numeric(r).high() - numeric(r).low());
            } else if (d instanceof Domain.Gaussian) {
                x[i] = rng.nextDouble();
            }
        }
        return x;
    }

    private Proposal decode(long index, double[] x) {
        return new Proposal(index, x, trials.decode(x, this));
    }

    /** The value of parameter {@code p} at coordinate {@code x}. */
    double value(Domain.Drawn d, double x) {
        if (d instanceof Domain.Gaussian g) {
            return g.draw(Math.min(1 - EDGE, Math.max(EDGE, x)));
        }
        Domain.Range r = (Domain.Range) d;
        if (r.distribution() == Distribution.INT_UNIFORM) {
            return Math.min(r.max(), Math.max(r.min(), Math.rint(x)));
        }
        Numeric n = numeric(r);
        double v = n.log() ? Math.exp(x) : x;
        return r.distribution().quantized() ? Math.rint(v / r.q()) * r.q() : v;
    }

    private static double[] column(List<Observation> os, int i) {
        double[] c = new double[os.size()];
        for (int k = 0; k < c.length; k++) {
            c[k] = os.get(k).internal[i];
        }
        return c;
    }

    /** The space the estimator works in for one parameter; null for a constant. */
    sealed interface Space {}

    /** A real interval (the log of the values for the log families). */
    record Numeric(double low, double high, boolean log) implements Space {}

    /** Indices 0..n-1. */
    record Categorical(int n) implements Space {}

    static Space space(Parameter p) {
        Domain d = p.domain();
        if (d instanceof Domain.Values v) {
            return new Categorical(v.values().size());
        }
        if (d instanceof Domain.Tied t) {
            return new Categorical(t.factors().size());
        }
        if (d instanceof Domain.Range r) {
            return numeric(r);
        }
        if (d instanceof Domain.Gaussian) {
            return new Numeric(0, 1, false);
        }
        return null;
    }

    static Numeric numeric(Domain.Range r) {
        double min = r.min();
        double max = r.max();
        return switch (r.distribution()) {
            case INT_UNIFORM -> new Numeric(min - 0.5, max + 0.5, false);
            case LOG_UNIFORM, Q_LOG_UNIFORM -> new Numeric(min, max, true);
            case INV_LOG_UNIFORM -> new Numeric(-max, -min, true);
            case LOG_UNIFORM_VALUES, Q_LOG_UNIFORM_VALUES, INV_LOG_UNIFORM_VALUES ->
                    new Numeric(Math.log(min), Math.log(max), true);
            default -> new Numeric(min, max, false);
        };
    }

    /** The candidate of the good estimator with the highest log l(x) - log g(x) (the first, on a tie). */
    static double choose(Space space, double[] good, double[] bad, SplitMix64 rng) {
        Mixture l = Mixture.of(space, good);
        Mixture g = Mixture.of(space, bad);
        double best = Double.NaN;
        double bestScore = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < EI_CANDIDATES; c++) {
            double x = l.sample(rng);
            double score = l.logDensity(x) - g.logDensity(x);
            if (Double.isNaN(best) || score > bestScore) {
                best = x;
                bestScore = score;
            }
        }
        return best;
    }

    /** Optuna's {@code default_weights}: 1 each, the oldest beyond the last 25 ramped from 1/n up to 1. */
    static double[] observationWeights(int n) {
        double[] w = new double[n];
        if (n < 25) {
            java.util.Arrays.fill(w, 1.0);
            return w;
        }
        int ramp = n - 25;
        for (int i = 0; i < ramp; i++) {
            // numpy's linspace(1/n, 1, num=ramp)
            w[i] = ramp == 1 ? 1.0 / n : 1.0 / n + i * (1.0 - 1.0 / n) / (ramp - 1);
        }
        java.util.Arrays.fill(w, ramp, n, 1.0);
        return w;
    }

    /** A Parzen estimator: one kernel per observation plus the prior, with mixture weights. */
    sealed interface Mixture {
        double sample(SplitMix64 rng);

        double logDensity(double x);

        static Mixture of(Space space, double[] obs) {
            double[] w = new double[obs.length + 1];
            double[] ow = observationWeights(obs.length);
            System.arraycopy(ow, 0, w, 0, obs.length);
            w[obs.length] = PRIOR_WEIGHT;
            double sum = 0;
            for (double v : w) {
                sum += v;
            }
            for (int i = 0; i < w.length; i++) {
                w[i] /= sum;
            }
            return space instanceof Numeric n ? Gaussians.of(n, obs, w) : Categories.of((Categorical) space, obs, w);
        }

        /** An index drawn with the given probabilities (they sum to 1; the last takes what rounding leaves). */
        static int component(double[] weights, SplitMix64 rng) {
            double u = rng.nextDouble();
            double c = 0;
            for (int k = 0; k < weights.length - 1; k++) {
                c += weights[k];
                if (u < c) {
                    return k;
                }
            }
            return weights.length - 1;
        }
    }

    /** Truncated Gaussians on [low, high]. */
    /** {@code masses}: each kernel's probability inside [low, high], the truncation's normaliser. */
    record Gaussians(double low, double high, double[] weights, double[] mus, double[] sigmas, double[] masses)
            implements Mixture {
        static Gaussians of(Numeric n, double[] obs, double[] weights) {
            double low = n.low();
            double high = n.high();
            int m = obs.length;
            double[] mus = new double[m + 1];
            double[] sigmas = new double[m + 1];
            Integer[] order = new Integer[m];
            for (int i = 0; i < m; i++) {
                order[i] = i;
            }
            java.util.Arrays.sort(order, Comparator.comparingDouble(i -> obs[i]));
            double[] ends = new double[m + 2];
            ends[0] = low;
            ends[m + 1] = high;
            for (int k = 0; k < m; k++) {
                ends[k + 1] = obs[order[k]];
            }
            double[] sorted = new double[m];
            for (int k = 0; k < m; k++) {
                sorted[k] = Math.max(ends[k + 1] - ends[k], ends[k + 2] - ends[k + 1]);
            }
            if (m >= 2) {
                // consider_endpoints=False: the outermost kernels look inwards only
                sorted[0] = ends[2] - ends[1];
                sorted[m - 1] = ends[m] - ends[m - 1];
            }
            double maxSigma = high - low;
            double minSigma = (high - low) / Math.min(100.0, 1.0 + (m + 1));
            for (int k = 0; k < m; k++) {
                mus[order[k]] = ends[k + 1];
                sigmas[order[k]] = Math.min(maxSigma, Math.max(minSigma, sorted[k]));
            }
            mus[m] = 0.5 * (low + high);
            sigmas[m] = high - low;
            double[] masses = new double[m + 1];
            for (int k = 0; k <= m; k++) {
                masses[k] = Gauss.cdf((high - mus[k]) / sigmas[k]) - Gauss.cdf((low - mus[k]) / sigmas[k]);
            }
            return new Gaussians(low, high, weights, mus, sigmas, masses);
        }

        @Override
        public double sample(SplitMix64 rng) {
            int k = Mixture.component(weights, rng);
            double a = Gauss.cdf((low - mus[k]) / sigmas[k]);
            double b = Gauss.cdf((high - mus[k]) / sigmas[k]);
            double x = mus[k] + sigmas[k] * Gauss.quantile(a + rng.nextDouble() * (b - a));
            return Math.min(high, Math.max(low, x));
        }

        @Override
        public double logDensity(double x) {
            double sum = 0;
            for (int k = 0; k < weights.length; k++) {
                sum += weights[k] * Gauss.pdf((x - mus[k]) / sigmas[k]) / sigmas[k] / masses[k];
            }
            return Math.log(sum);
        }
    }

    /** Optuna's categorical kernels: prior_weight / kernels on every choice, plus 1 on the observed one. */
    record Categories(double[] weights, double[][] rows) implements Mixture {
        static Categories of(Categorical c, double[] obs, double[] weights) {
            int kernels = obs.length + 1;
            double[][] rows = new double[kernels][c.n()];
            for (int k = 0; k < kernels; k++) {
                java.util.Arrays.fill(rows[k], obs.length == 0 ? 1.0 / c.n() : PRIOR_WEIGHT / kernels);
                if (k < obs.length) {
                    rows[k][(int) obs[k]] += 1;
                }
                double s = 0;
                for (double v : rows[k]) {
                    s += v;
                }
                for (int j = 0; j < c.n(); j++) {
                    rows[k][j] /= s;
                }
            }
            return new Categories(weights, rows);
        }

        @Override
        public double sample(SplitMix64 rng) {
            return Mixture.component(rows[Mixture.component(weights, rng)], rng);
        }

        @Override
        public double logDensity(double x) {
            double p = 0;
            for (int k = 0; k < weights.length; k++) {
                p += weights[k] * rows[k][(int) x];
            }
            return Math.log(p);
        }
    }
}
