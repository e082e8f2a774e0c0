package dev.lora4j.sweep;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.LongNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Population-based training ({@code scheduler: {type: pbt}}, Ray Tune's names and rules, from
 * {@code ray/tune/schedulers/pbt.py}: {@code PopulationBasedTraining._quantiles}, {@code _perturb_trial},
 * {@code explore}). At every {@code perturbationInterval} training steps a trial in the bottom quantile of the trials
 * that reached that step copies the checkpoint of that step of a trial in the top quantile, takes its configuration,
 * and perturbs the mutated fields.
 *
 * <p>Unlike Ray's asynchronous default, trials are ranked by their metric at the same step (every trial that reached
 * it, ended ones included), which makes the decisions independent of how many lanes run them and repeatable for a
 * given order in which trials reach a step. Random choices come from a generator seeded by (seed, trial index, step),
 * so a resumed sweep draws exactly what the interrupted one drew.
 *
 * @param perturbationInterval in optimizer steps; a multiple of {@code training.eval_steps}
 * @param quantileFraction between 0 and 0.5: the fraction of trials that copy and that are copied
 * @param resampleProbability the probability that a mutated field is drawn anew rather than scaled or moved
 * @param mutations canonical field ({@code training.learning_rate}) to {@link Domain.Values} (moved to a neighbour)
 *     or a {@link Domain.Drawn} distribution (scaled by 1.2 or 0.8), in declaration order
 * @param seed of the random choices
 */
public record Pbt(long perturbationInterval, double quantileFraction, double resampleProbability,
        Map<String, Domain> mutations, long seed) implements EarlyTerminate {

    /** The fields PBT may change mid-run: they change neither the adapter's shape nor its scale. */
    public static final List<String> MUTABLE = List.of("training.learning_rate", "training.weight_decay",
            "lora.lora_dropout");

    public Pbt {
        mutations = Collections.unmodifiableMap(new LinkedHashMap<>(mutations));
        for (Domain d : mutations.values()) {
            if (!(d instanceof Domain.Values) && !(d instanceof Domain.Drawn)) {
                throw new IllegalArgumentException("a mutation is a list of values or a distribution, got " + d);
            }
        }
    }

    @Override
    public String json() {
        return "pbt";
    }

    /** Whether {@code step} is a perturbation point. */
    public boolean perturbsAt(long step) {
        return step > 0 && step % perturbationInterval == 0;
    }

    /** The bottom and the top trials of a ranking (ids, worst first within each list). */
    public record Quantiles(List<String> lower, List<String> upper) {
        public Quantiles {
            lower = List.copyOf(lower);
            upper = List.copyOf(upper);
        }
    }

    /**
     * Ray's {@code _quantiles}: trials sorted from worst to best (a stable sort, so ties keep the given order); with
     * one trial or none there is nothing to compare; otherwise {@code ceil(n * quantile_fraction)} trials on each
     * side, at most {@code floor(n / 2)}.
     *
     * @param badness each trial's metric oriented so that lower is better, in the order trials reached the step
     */
    public Quantiles quantiles(Map<String, Double> badness) {
        List<Map.Entry<String, Double>> sorted = new ArrayList<>(badness.entrySet());
        // worst first, as Ray's ascending sort of a score where higher is better
        sorted.sort((a, b) -> Double.compare(b.getValue(), a.getValue()));
        int n = sorted.size();
        if (n <= 1) {
            return new Quantiles(List.of(), List.of());
        }
        int k = (int) Math.ceil(n * quantileFraction);
        if (k > n / 2.0) {
            k = n / 2;
        }
        List<String> ids = sorted.stream().map(Map.Entry::getKey).toList();
        return new Quantiles(ids.subList(0, k), ids.subList(n - k, n));
    }

    /** The decision for a trial at a perturbation point: copy {@code parent} and train on with {@code config}. */
    public record Exploit(String parent, long step, Map<String, JsonNode> config) {
        public Exploit {
            Objects.requireNonNull(parent, "parent");
            config = Collections.unmodifiableMap(new LinkedHashMap<>(config));
        }
    }

    /**
     * Ray's {@code _perturb_trial} for one trial: if it is in the lower quantile, a parent drawn from the upper one
     * ({@code random.choice}) and the parent's configuration after {@link #explore}; null otherwise.
     *
     * @param index the trial's index in the sweep (part of the seed)
     * @param configs each trial's configuration in effect after {@code step} (the mutated fields at least)
     */
    public Exploit decide(String trialId, long index, long step, Map<String, Double> badness,
            Map<String, Map<String, JsonNode>> configs) {
        Quantiles q = quantiles(badness);
        if (!q.lower().contains(trialId)) {
            return null;
        }
        SplitMix64 rng = rng(index, step);
        String parent = q.upper().get((int) rng.nextLong(q.upper().size()));
        return new Exploit(parent, step, explore(configs.get(parent), rng));
    }

    /** The generator of the choices made for trial {@code index} at {@code step}. */
    SplitMix64 rng(long index, long step) {
        return SplitMix64.forTrial(seed ^ (step * 0xD1B54A32D192ED03L), index);
    }

    /** {@link #explore(Map, SplitMix64)} with the generator of trial {@code index} at {@code step} (for tests). */
    public Map<String, JsonNode> explore(Map<String, JsonNode> config, long index, long step) {
        return explore(config, rng(index, step));
    }

    /**
     * Ray's {@code explore}, draw for draw: for a list, with {@code resample_probability} (or when the value is not
     * in the list) a uniform choice, else the neighbour below or above (with probability 1/2 each, clamped at the
     * ends); for a distribution, with {@code resample_probability} a fresh draw, else the value times 1.2 or 0.8
     * (an integer field is truncated, as Python's {@code int}). Fields not mutated are kept.
     */
    Map<String, JsonNode> explore(Map<String, JsonNode> config, SplitMix64 rng) {
        Map<String, JsonNode> out = new LinkedHashMap<>(config);
        for (Map.Entry<String, Domain> m : mutations.entrySet()) {
            JsonNode current = config.get(m.getKey());
            if (m.getValue() instanceof Domain.Values v) {
                List<JsonNode> list = v.values();
                int at = indexOf(list, current);
                if (rng.nextDouble() < resampleProbability || at < 0) {
                    out.put(m.getKey(), list.get((int) rng.nextLong(list.size())));
                } else if (rng.nextDouble() > 0.5) {
                    out.put(m.getKey(), list.get(Math.max(0, at - 1)));
                } else {
                    out.put(m.getKey(), list.get(Math.min(list.size() - 1, at + 1)));
                }
            } else {
                Domain.Drawn d = (Domain.Drawn) m.getValue();
                double x;
                if (rng.nextDouble() < resampleProbability) {
                    x = d.draw(rng.nextDouble());
                } else if (rng.nextDouble() > 0.5) {
                    x = current.asDouble() * 1.2;
                } else {
                    x = current.asDouble() * 0.8;
                }
                boolean integral = current != null && current.isIntegralNumber();
                out.put(m.getKey(), integral ? LongNode.valueOf((long) x) : DoubleNode.valueOf(x));
            }
        }
        return out;
    }

    /** Numbers compare by value (YAML's 1 and 1.0 are one value). */
    private static int indexOf(List<JsonNode> list, JsonNode value) {
        if (value == null) {
            return -1;
        }
        for (int i = 0; i < list.size(); i++) {
            JsonNode x = list.get(i);
            if (x.equals(value) || x.isNumber() && value.isNumber() && x.asDouble() == value.asDouble()) {
                return i;
            }
        }
        return -1;
    }

    /** The mutated fields a trial starts with: its own values, read from its run. */
    public Map<String, JsonNode> initialConfig(TrialSpec spec) {
        Map<String, JsonNode> c = new LinkedHashMap<>(spec.parameters());
        for (String field : mutations.keySet()) {
            c.putIfAbsent(field, DoubleNode.valueOf(switch (field) {
                case "training.learning_rate" -> spec.training().learningRate();
                case "training.weight_decay" -> spec.training().weightDecay();
                case "lora.lora_dropout" -> spec.lora().loraDropout();
                default -> throw new IllegalStateException("not mutable: " + field);
            }));
        }
        return c;
    }

    /** Keys of the {@code scheduler} section. */
    static final Set<String> KEYS = Set.of("type", "perturbation_interval", "quantile_fraction",
            "resample_probability", "hyperparam_mutations", "seed");
}
