package dev.lora4j.sweep;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.config.ConfigError;
import dev.lora4j.config.ConfigException;
import dev.lora4j.config.LoraConfigJson;
import dev.lora4j.config.Problems;
import dev.lora4j.run.RunSpec;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.stream.LongStream;
import java.util.stream.Stream;

/**
 * The trials of a sweep, computed on demand: trial {@code i} is decoded from {@code i} alone (mixed-radix digits of a
 * grid, or a generator seeded with the sweep seed and {@code i}), so a grid of 10^6 points takes no memory, the size
 * is arithmetic, and a resumed random sweep skips the first N draws for free.
 */
public final class Trials implements Iterable<TrialSpec> {
    private final SweepSpec sweep;
    private final List<Parameter> parameters;
    private final long size;
    /** Grid only: how many trials one step of parameter i spans (the first parameter varies slowest). */
    private final long[] strides;
    private final ObjectNode resolvedLora;
    private final ObjectNode resolvedTraining;

    Trials(SweepSpec sweep) {
        this.sweep = sweep;
        this.parameters = sweep.parameters();
        this.strides = new long[parameters.size()];
        this.resolvedLora = LoraConfigJson.toTree(sweep.base().lora());
        this.resolvedTraining = sweep.base().training().toTree();
        long n;
        if (sweep.method() instanceof SweepMethod.Random r) {
            n = r.trials();
        } else if (sweep.method() instanceof SweepMethod.Bayes b) {
            n = b.trials();
        } else {
            long s = 1;
            for (int i = parameters.size() - 1; i >= 0; i--) {
                strides[i] = s;
                s = Math.multiplyExact(s, parameters.get(i).domain().gridSize());
            }
            n = s;
        }
        this.size = Math.min(n, sweep.runCap());
    }

    /** The number of trials, without expanding any. */
    public long size() {
        return size;
    }

    /**
     * Trial {@code index} (0-based). For a bayes sweep, whose trials depend on results, this is its start-up draw
     * {@code index} (what the sampler proposes before it learned anything); the sweep itself takes its trials from
     * {@link #bayes(Tpe.Proposal)}.
     */
    public TrialSpec get(long index) {
        return trial(index, assignment(index));
    }

    /** The sampler of a bayes sweep. */
    public Tpe tpe() {
        if (!(sweep.method() instanceof SweepMethod.Bayes b)) {
            throw new IllegalStateException("a " + sweep.method().json() + " sweep has no sampler");
        }
        return new Tpe(this, parameters, b.seed(), b.startupTrials());
    }

    /** The trial a bayes sweep's proposal makes: its id is that of a random draw (index and values). */
    public TrialSpec bayes(Tpe.Proposal proposal) {
        return trial(proposal.index(), proposal.assignment());
    }

    private TrialSpec trial(long index, Map<String, JsonNode> a) {
        ObjectNode lora = sweep.loraTree();
        ObjectNode training = sweep.trainingTree();
        for (Parameter p : parameters) {
            p.field().set(p.field().part() == FieldRef.Part.LORA ? lora : training, a.get(p.field().canonical()));
        }
        Problems problems = new Problems();
        RunSpec run = sweep.base().withSections(lora, training, problems);
        String id = sweep.method() instanceof SweepMethod.Grid
                ? TrialNaming.gridId(a) : TrialNaming.randomId(index, a);
        return new TrialSpec(id, TrialNaming.name(parameters, a), index, a, run.lora(),
                run.training(), run.model(), run.data(), run.task(), problems.toValidation());
    }

    /**
     * {@code trial} trained on with another configuration (population-based training: the configuration of the trial
     * it copied, perturbed): the sweep's base run with {@code config} (canonical fields) set; id, name and index stay.
     *
     * @throws ConfigException naming the field for a value the field does not take
     */
    public TrialSpec reconfigured(TrialSpec trial, Map<String, JsonNode> config) {
        ObjectNode lora = sweep.loraTree();
        ObjectNode training = sweep.trainingTree();
        List<ConfigError> errors = new ArrayList<>();
        config.forEach((name, value) -> {
            if (FieldRef.resolve(name) instanceof FieldRef.Resolution.Found f) {
                f.field().set(f.field().part() == FieldRef.Part.LORA ? lora : training, value);
            } else {
                errors.add(new ConfigError(name, "not a field of a run"));
            }
        });
        Problems problems = new Problems();
        RunSpec run = sweep.base().withSections(lora, training, problems);
        errors.addAll(problems.errors());
        if (errors.isEmpty()) {
            // a perturbed value (dropout x1.2) can leave its field's range
            errors.addAll(dev.lora4j.config.LoraConfigValidator.validate(run.lora(), "lora").errors());
        }
        if (!errors.isEmpty()) {
            throw new ConfigException(errors);
        }
        return new TrialSpec(trial.id(), trial.name(), trial.index(), config, run.lora(), run.training(), run.model(),
                run.data(), run.task(), problems.toValidation());
    }

    /**
     * A trial an app brings itself: the sweep's base run with {@code values} set (names as a sweep file's
     * {@code parameters} spell them: {@code r}, {@code lora.lora_alpha}, {@code learning_rate}). Its id is the hash
     * of the values, as a grid point's, so the same values always make the same trial; its name lists them.
     *
     * @throws ConfigException naming {@code parameters.NAME} for an unknown field or a value the field does not take
     */
    public TrialSpec with(Map<String, JsonNode> values, long index) {
        List<ConfigError> errors = new ArrayList<>();
        Map<String, JsonNode> assignment = new LinkedHashMap<>();
        List<FieldRef> named = new ArrayList<>();
        ObjectNode lora = sweep.loraTree();
        ObjectNode training = sweep.trainingTree();
        values.forEach((name, value) -> {
            if (FieldRef.resolve(name) instanceof FieldRef.Resolution.Found f) {
                f.field().set(f.field().part() == FieldRef.Part.LORA ? lora : training, value);
                assignment.put(f.field().canonical(), value);
                named.add(f.field());
            } else {
                errors.add(new ConfigError("parameters." + name,
                        ((FieldRef.Resolution.NotFound) FieldRef.resolve(name)).message()));
            }
        });
        Problems problems = new Problems();
        RunSpec run = sweep.base().withSections(lora, training, problems);
        errors.addAll(problems.errors());
        if (!errors.isEmpty()) {
            throw new ConfigException(errors);
        }
        // a map's order is not the app's intent (Map.of has none): names list fields in one fixed order
        named.sort(TrialNaming.FIELD_ORDER);
        return new TrialSpec(TrialNaming.gridId(assignment), TrialNaming.nameOf(named, assignment), index, assignment,
                run.lora(), run.training(), run.model(), run.data(), run.task(), problems.toValidation());
    }

    /** The parameter values of trial {@code index}, keyed by canonical field, in declaration order. */
    public Map<String, JsonNode> assignment(long index) {
        if (index < 0 || index >= size) {
            throw new IndexOutOfBoundsException("trial " + index + " of " + size);
        }
        if (sweep.method() instanceof SweepMethod.Bayes) {
            return tpe().propose(index, List.of()).assignment();
        }
        JsonNode[] values = new JsonNode[parameters.size()];
        int[] factor = new int[parameters.size()];
        SplitMix64 rng = sweep.method() instanceof SweepMethod.Random r ? SplitMix64.forTrial(r.seed(), index) : null;
        for (int i = 0; i < parameters.size(); i++) {
            Parameter p = parameters.get(i);
            long digit = rng == null ? (index / strides[i]) % p.domain().gridSize() : -1;
            Domain d = p.domain();
            if (d instanceof Domain.Values v) {
                int k = rng == null ? (int) digit : v.probabilities().isEmpty()
                        ? (int) rng.nextLong(v.values().size()) : v.index(rng.nextDouble());
                values[i] = v.values().get(k);
            } else if (d instanceof Domain.Constant c) {
                values[i] = c.value();
            } else if (d instanceof Domain.Tied t) {
                factor[i] = (int) (rng == null ? digit : rng.nextLong(t.factors().size()));
            } else if (d instanceof Domain.Range r && rng == null) {
                values[i] = number(r.gridValue(digit), p.field().integer() || r.integral());
            } else if (d instanceof Domain.Drawn r) {
                values[i] = number(r.draw(rng.nextDouble()), p.field().integer() || r.integral());
            }
        }
        Map<String, JsonNode> a = new LinkedHashMap<>();
        for (int i = 0; i < parameters.size(); i++) {
            Parameter p = parameters.get(i);
            if (p.domain() instanceof Domain.Tied t) {
                JsonNode other = valueOf(t.other(), values);
                values[i] = number(other.doubleValue() * t.factors().get(factor[i]), p.field().integer());
            }
            a.put(p.field().canonical(), values[i]);
        }
        return a;
    }

    /** The values at the sampler's coordinates: indices for lists and ties, {@link Tpe#value} for drawn ones. */
    Map<String, JsonNode> decode(double[] x, Tpe tpe) {
        JsonNode[] values = new JsonNode[parameters.size()];
        for (int i = 0; i < parameters.size(); i++) {
            Parameter p = parameters.get(i);
            Domain d = p.domain();
            if (d instanceof Domain.Values v) {
                values[i] = v.values().get((int) x[i]);
            } else if (d instanceof Domain.Constant c) {
                values[i] = c.value();
            } else if (d instanceof Domain.Drawn r) {
                values[i] = number(tpe.value(r, x[i]), p.field().integer() || r.integral());
            }
        }
        Map<String, JsonNode> a = new LinkedHashMap<>();
        for (int i = 0; i < parameters.size(); i++) {
            Parameter p = parameters.get(i);
            if (p.domain() instanceof Domain.Tied t) {
                JsonNode other = valueOf(t.other(), values);
                values[i] = number(other.doubleValue() * t.factors().get((int) x[i]), p.field().integer());
            }
            a.put(p.field().canonical(), values[i]);
        }
        return a;
    }

    @Override
    public Iterator<TrialSpec> iterator() {
        return iterator(0);
    }

    /** Starts at trial {@code from}: resuming a sweep costs nothing for the trials before it. */
    public Iterator<TrialSpec> iterator(long from) {
        return new Iterator<>() {
            private long next = Math.max(0, from);

            @Override
            public boolean hasNext() {
                return next < size;
            }

            @Override
            public TrialSpec next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                return get(next++);
            }
        };
    }

    /** A lazy, ordered stream of the trials. */
    public Stream<TrialSpec> stream() {
        return LongStream.range(0, size).mapToObj(this::get);
    }

    /** The value of {@code field} in a trial: a parameter's if one sets it, else the base run's. */
    private JsonNode valueOf(FieldRef field, JsonNode[] values) {
        for (int i = 0; i < parameters.size(); i++) {
            if (parameters.get(i).field().equals(field)) {
                return values[i];
            }
        }
        return baseValue(field);
    }

    /** The base run's resolved value of a field (defaults filled in), e.g. r when only lora_alpha is swept. */
    JsonNode baseValue(FieldRef field) {
        return field.get(field.part() == FieldRef.Part.LORA ? resolvedLora : resolvedTraining);
    }

    /** Integral fields get integers (rounded: a tie r = alpha/2 of alpha 7 gives 4); others as PEFT writes them. */
    static JsonNode number(double v, boolean integer) {
        return integer ? JsonNodeFactory.instance.numberNode(Math.round(v)) : LoraConfigJson.number(v);
    }
}
