package dev.lora4j.sweep;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.config.Choices;
import dev.lora4j.config.ConfigError;
import dev.lora4j.config.ConfigException;
import dev.lora4j.config.JsonText;
import dev.lora4j.config.Loaded;
import dev.lora4j.config.Numbers;
import dev.lora4j.config.Problems;
import dev.lora4j.config.Section;
import dev.lora4j.config.Suggestions;
import dev.lora4j.run.RunSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.regex.Pattern;

/** Reads a sweep file and checks it, down to each parameter value, before any trial exists. */
final class SweepParser {
    /** Combinations checked at load time; later ones are checked as their trials are expanded. */
    static final int COMBINATIONS_CHECKED = 200;
    private static final int COMBINATION_ERRORS_SHOWN = 5;
    private static final List<String> PARAMETER_KEYS = List.of("values", "value", "probabilities", "min", "max", "mu",
            "sigma", "q", "distribution", "ratio_to");
    private static final Pattern METRIC_NAME = Pattern.compile("[A-Za-z0-9_./-]+");
    /** Keys of W&B sweep files that mean something else here. */
    private static final Map<String, String> WANDB_HINTS = Map.of(
            "program", "; lora4j runs the trials itself: remove it",
            "command", "; lora4j runs the trials itself: remove it",
            "project", "; W&B's project has no meaning here: remove it",
            "entity", "; W&B's entity has no meaning here: remove it",
            "description", "; remove it (or write it as a # comment)");

    private final Problems p = new Problems();
    private final Path file;

    private SweepParser(Path file) {
        this.file = file;
    }

    static Loaded<SweepSpec> parse(JsonNode root, Path file) {
        return new SweepParser(file).run(root);
    }

    private Loaded<SweepSpec> run(JsonNode rootNode) {
        Section root = Section.of(rootNode, "", p).orElseThrow(() -> new ConfigException(file, p.errors()));
        for (String key : root.unknownKeys(SweepSpec.KEYS)) {
            p.error(key, "unknown key" + WANDB_HINTS.getOrDefault(key, Suggestions.hint(key, SweepSpec.KEYS)));
        }
        Optional<RunSpec> base = RunSpec.parse(root, file);
        SweepMethod method = method(root);
        Metric metric = metric(root);
        List<Parameter> parameters = parameters(root, method);
        EarlyTerminate stopping = earlyTerminate(root);
        Pbt pbt = scheduler(root, method);
        if (pbt != null && stopping != null) {
            p.error("scheduler", "a sweep has one scheduler: pbt or early_terminate (" + stopping.json()
                    + "), not both");
        }
        EarlyTerminate asha = pbt != null ? pbt : stopping;
        Long runCap = root.longInteger("run_cap").orElse(null);
        if (runCap != null && runCap < 1) {
            p.error("run_cap", "run_cap must be >= 1 (the most trials the sweep runs), got " + runCap);
        }
        base.ifPresent(b -> crossChecks(b, metric, asha, parameters));
        SweepSpec spec = null;
        if (base.isPresent() && sizeFits(method, parameters)) {
            spec = new SweepSpec(base.get(), tree(root, "lora"), tree(root, "training"),
                    method == null ? new SweepMethod.Grid() : method, metric, parameters, asha,
                    runCap == null || runCap < 1 ? Long.MAX_VALUE : runCap);
            new ValueChecks(spec).run();
            if (!p.hasErrors()) {
                combinations(spec);
            }
        }
        p.throwIfErrors(file);
        return new Loaded<>(spec, p.warnings());
    }

    private SweepMethod method(Section root) {
        Optional<JsonNode> value = root.value("method");
        // W&B counts trials with run_cap alone: it stands in for trials when those are not given
        Optional<Long> runCap = root.longInteger("run_cap").filter(n -> n >= 1);
        if (value.isEmpty()) {
            p.error("method", "missing: grid, or {type: random, trials: N, seed: S}, or {type: bayes, trials: N}");
            return null;
        }
        JsonNode v = value.get();
        if (v.isTextual()) {
            return switch (v.textValue()) {
                case "grid" -> new SweepMethod.Grid();
                case "random", "bayes" -> {
                    if (runCap.isPresent()) {
                        yield v.textValue().equals("random") ? new SweepMethod.Random(runCap.get(), 0)
                                : new SweepMethod.Bayes(runCap.get(), 0, Tpe.STARTUP_TRIALS);
                    }
                    p.error("method", v.textValue() + " needs a trial count: method: {type: " + v.textValue()
                            + ", trials: 20, seed: 0}, or run_cap: 20");
                    yield null;
                }
                default -> {
                    p.error("method", "method must be \"grid\", \"random\" or \"bayes\", got " + Section.show(v));
                    yield null;
                }
            };
        }
        Optional<Section> s = Section.of(v, "method", p);
        if (s.isEmpty()) {
            return null;
        }
        Section m = s.get();
        m.rejectUnknown(List.of("type", "trials", "seed", "startup_trials"));
        Optional<String> type = m.string("type");
        if (type.isEmpty()) {
            if (!m.has("type")) {
                p.error("method.type", "missing: grid, random or bayes");
            }
            return null;
        }
        if (type.get().equals("grid")) {
            for (String k : List.of("trials", "seed", "startup_trials")) {
                if (m.has(k)) {
                    p.error("method." + k, k + " applies to random and bayes sweeps; a grid runs every point once");
                }
            }
            return new SweepMethod.Grid();
        }
        if (!type.get().equals("random") && !type.get().equals("bayes")) {
            p.error("method.type", "type must be \"grid\", \"random\" or \"bayes\", got \"" + type.get() + "\"");
            return null;
        }
        boolean bayes = type.get().equals("bayes");
        Optional<Long> trials = m.longInteger("trials").or(() -> m.has("trials") ? Optional.empty() : runCap);
        long seed = m.longInteger("seed").orElse(0L);
        if (!m.has("trials") && runCap.isEmpty()) {
            p.error("method.trials", "missing: how many trials to " + (bayes ? "propose" : "draw")
                    + " (or run_cap: N)");
        } else if (trials.isPresent() && trials.get() < 1) {
            p.error("method.trials", "trials must be >= 1, got " + trials.get());
        }
        int startup = Tpe.STARTUP_TRIALS;
        if (m.has("startup_trials")) {
            if (!bayes) {
                p.error("method.startup_trials", "startup_trials applies to bayes sweeps (a random sweep is all "
                        + "start-up)");
            }
            Optional<Integer> k = m.integer("startup_trials");
            if (k.isPresent() && k.get() < 0) {
                p.error("method.startup_trials", "startup_trials must be >= 0, got " + k.get());
            }
            startup = k.filter(x -> x >= 0).orElse(startup);
        }
        int startupTrials = startup;
        return trials.filter(t -> t >= 1).map(t -> bayes ? (SweepMethod) new SweepMethod.Bayes(t, seed, startupTrials)
                : new SweepMethod.Random(t, seed)).orElse(null);
    }

    private Metric metric(Section root) {
        Optional<Section> s = root.section("metric");
        if (s.isEmpty()) {
            return Metric.DEFAULT;
        }
        Section m = s.get();
        m.rejectUnknown(List.of("name", "goal", "target"));
        String name = m.string("name").orElse(Metric.DEFAULT.name());
        if (!METRIC_NAME.matcher(name).matches()) {
            p.error("metric.name", "a metric name is letters, digits and _ . / -, e.g. eval_loss, got \"" + name
                    + "\"");
        }
        Goal goal = Choices.read(m, "goal", Goal.values()).orElse(Goal.MINIMIZE);
        Optional<Double> target = m.number("target");
        if (target.isPresent() && !Double.isFinite(target.get())) {
            p.error("metric.target", "target must be a finite number, got " + Numbers.format(target.get()));
        }
        return new Metric(name, goal, target.filter(Double::isFinite).map(OptionalDouble::of)
                .orElse(OptionalDouble.empty()));
    }

    private EarlyTerminate earlyTerminate(Section root) {
        Optional<Section> s = root.section("early_terminate");
        if (s.isEmpty()) {
            return null;
        }
        Section e = s.get();
        Optional<String> type = e.string("type");
        if (!e.has("type")) {
            p.error("early_terminate.type", "missing: asha or hyperband");
            return null;
        }
        if (type.isPresent() && type.get().equals("hyperband")) {
            return hyperband(e);
        }
        e.rejectUnknown(List.of("type", "grace_period", "reduction_factor", "max_t"));
        if (type.isPresent() && !type.get().equals("asha")) {
            p.error("early_terminate.type", "type must be \"asha\" or \"hyperband\", got \"" + type.get() + "\"");
        }
        int grace = e.integer("grace_period").orElse(1);
        int factor = e.integer("reduction_factor").orElse(3);
        Integer maxT = e.integerOrNull("max_t").orElse(null);
        if (grace < 1) {
            p.error("early_terminate.grace_period", "grace_period must be >= 1 (evaluations), got " + grace);
        }
        if (factor < 2) {
            p.error("early_terminate.reduction_factor", "reduction_factor must be >= 2, got " + factor);
        }
        if (maxT != null && maxT < Math.max(1, grace)) {
            p.error("early_terminate.max_t", "max_t must be >= grace_period (" + grace + "), got " + maxT);
        }
        return new Asha(grace, factor, maxT);
    }

    /** W&B's keys and defaults (eta 3, strict true as W&B's schema fills it); bands as hyperband_stop_runs. */
    private EarlyTerminate hyperband(Section e) {
        Map<String, String> ashaKeys = Map.of("grace_period", "min_iter", "reduction_factor", "eta", "max_t",
                "max_iter (with s)");
        ashaKeys.forEach((k, instead) -> {
            if (e.has(k)) {
                p.error("early_terminate." + k, k + " is asha's; hyperband's is " + instead);
            }
        });
        ObjectNode rest = e.node().deepCopy();
        rest.remove(ashaKeys.keySet());
        new Section(rest, e.path(), p).rejectUnknown(List.of("type", "min_iter", "max_iter", "s", "eta", "strict"));
        double eta = e.number("eta").orElse(3.0);
        boolean strict = e.bool("strict").orElse(true);
        int before = p.errorCount();
        if (!(eta > 1)) {
            p.error("early_terminate.eta", "eta must be > 1, got " + Numbers.format(eta));
        }
        Optional<Integer> minIter = e.integer("min_iter");
        Optional<Integer> maxIter = e.integer("max_iter");
        Optional<Integer> s = e.integer("s");
        boolean byMax = e.has("max_iter") || e.has("s");
        if (byMax && !(e.has("max_iter") && e.has("s"))) {
            p.error("early_terminate." + (e.has("max_iter") ? "s" : "max_iter"), "missing: hyperband takes max_iter "
                    + "with s, or min_iter");
        } else if (!byMax && !e.has("min_iter")) {
            p.error("early_terminate", "hyperband needs min_iter, or max_iter with s (W&B's keys)");
        }
        if (byMax && e.has("min_iter")) {
            p.warn("early_terminate.min_iter: ignored: with max_iter and s, W&B's hyperband computes the bands from "
                    + "those");
        }
        minIter.filter(m -> m < 1).ifPresent(m -> p.error("early_terminate.min_iter", "min_iter must be >= 1 "
                + "(evaluations), got " + m));
        maxIter.filter(m -> m < 1).ifPresent(m -> p.error("early_terminate.max_iter", "max_iter must be >= 1 "
                + "(evaluations), got " + m));
        s.filter(m -> m < 1).ifPresent(m -> p.error("early_terminate.s", "s must be >= 1, got " + m));
        if (p.errorCount() > before || (byMax ? maxIter.isEmpty() || s.isEmpty() : minIter.isEmpty())) {
            return null;
        }
        List<Long> bands = byMax ? Hyperband.fromMaxIter(maxIter.get(), s.get(), eta)
                : Hyperband.fromMinIter(minIter.get(), eta);
        if (bands.isEmpty()) {
            p.error("early_terminate", "no band: max_iter " + maxIter.get() + " / eta " + Numbers.format(eta)
                    + " is below 1 evaluation; increase max_iter or s, or decrease eta");
            return null;
        }
        return new Hyperband(bands, eta, strict);
    }

    /**
     * {@code scheduler: {type: pbt, ...}} with Ray Tune's keys and defaults (quantile_fraction 0.25,
     * resample_probability 0.25); perturbation_interval counts optimizer steps. Only fields that change neither the
     * adapter's shape nor its scale may mutate, since a copied checkpoint must fit the trial that loads it.
     */
    private Pbt scheduler(Section root, SweepMethod method) {
        int before = p.errorCount();
        Optional<Section> s = root.section("scheduler");
        if (s.isEmpty()) {
            return null;
        }
        Section e = s.get();
        if (!e.has("type")) {
            p.error("scheduler.type", "missing: pbt");
            return null;
        }
        Optional<String> type = e.string("type");
        if (type.isEmpty()) {
            return null;
        }
        if (!type.get().equals("pbt")) {
            p.error("scheduler.type", "type must be \"pbt\" (asha and hyperband are early_terminate's), got \""
                    + type.get() + "\"");
            return null;
        }
        e.rejectUnknown(Pbt.KEYS);
        if (method instanceof SweepMethod.Bayes) {
            p.error("scheduler", "pbt changes trials' hyperparameters while they train, which a bayes search "
                    + "cannot learn from: use method grid or random");
        }
        Optional<Long> interval = e.longInteger("perturbation_interval");
        if (!e.has("perturbation_interval")) {
            p.error("scheduler.perturbation_interval", "missing: the number of training steps between "
                    + "perturbations, a multiple of training.eval_steps");
        } else {
            interval.filter(i -> i < 1).ifPresent(i -> p.error("scheduler.perturbation_interval",
                    "perturbation_interval must be >= 1 (training steps), got " + i));
        }
        double quantile = e.number("quantile_fraction").orElse(0.25);
        if (!(quantile >= 0 && quantile <= 0.5)) {
            p.error("scheduler.quantile_fraction", "quantile_fraction must be between 0 and 0.5, got "
                    + Numbers.format(quantile));
        }
        double resample = e.number("resample_probability").orElse(0.25);
        if (!(resample >= 0 && resample <= 1)) {
            p.error("scheduler.resample_probability", "resample_probability must be between 0 and 1, got "
                    + Numbers.format(resample));
        }
        long seed = e.longInteger("seed").orElse(0L);
        Map<String, Domain> mutations = new LinkedHashMap<>();
        Optional<Section> ms = e.section("hyperparam_mutations");
        if (!e.has("hyperparam_mutations") || ms.isPresent() && ms.get().node().isEmpty()) {
            p.error("scheduler.hyperparam_mutations", "missing: the fields pbt perturbs, e.g. {learning_rate: "
                    + "{distribution: log_uniform_values, min: 1.0e-5, max: 1.0e-3}, weight_decay: {values: [0.0, "
                    + "0.01, 0.1]}}");
        }
        String allowed = String.join(", ", Pbt.MUTABLE.stream().map(f -> f.substring(f.indexOf('.') + 1)).toList());
        for (Map.Entry<String, JsonNode> m : ms.map(x -> x.node().properties()).orElse(Set.of())) {
            String at = "scheduler.hyperparam_mutations." + m.getKey();
            FieldRef.Resolution r = FieldRef.resolve(m.getKey());
            if (r instanceof FieldRef.Resolution.NotFound nf) {
                p.error(at, nf.message());
                continue;
            }
            FieldRef field = ((FieldRef.Resolution.Found) r).field();
            if (!Pbt.MUTABLE.contains(field.canonical())) {
                p.error(at, "pbt cannot change " + field.canonical() + " while a trial trains (a copied checkpoint "
                        + "must fit the adapter's shape and scale); it mutates " + allowed);
                continue;
            }
            JsonNode v = m.getValue();
            if (v.isArray()) {
                // Ray's plain list: a set of values moved to a neighbour
                List<JsonNode> values = new ArrayList<>();
                v.forEach(values::add);
                if (values.isEmpty() || values.stream().anyMatch(x -> !x.isNumber())) {
                    p.error(at, "a list of mutation values must hold numbers, got " + Section.show(v));
                    continue;
                }
                mutations.put(field.canonical(), new Domain.Values(values));
                continue;
            }
            if (!v.isObject()) {
                p.error(at, "must be a list of values or a mapping such as {values: [0.0, 0.1]} or {distribution: "
                        + "log_uniform_values, min: 1.0e-5, max: 1.0e-3}, got " + Section.show(v));
                continue;
            }
            Optional<Domain> d = domain(new Section((ObjectNode) v, at, p), field, new SweepMethod.Random(1, seed));
            if (d.isEmpty()) {
                continue;
            }
            if (d.get() instanceof Domain.Constant c) {
                mutations.put(field.canonical(), new Domain.Values(List.of(c.value())));
            } else if (d.get() instanceof Domain.Values || d.get() instanceof Domain.Drawn) {
                mutations.put(field.canonical(), d.get());
            } else {
                p.error(at, "a mutation is a list of values or a distribution, not a tie (ratio_to)");
            }
        }
        if (p.errorCount() > before || interval.isEmpty()) {
            return null;
        }
        return new Pbt(interval.get(), quantile, resample, mutations, seed);
    }

    private List<Parameter> parameters(Section root, SweepMethod method) {
        List<Parameter> out = new ArrayList<>();
        if (!root.has("parameters")) {
            p.error("parameters", "missing: the fields to sweep, e.g. r: {values: [4, 8, 16]}");
            return out;
        }
        Optional<Section> s = root.section("parameters");
        if (s.isEmpty()) {
            return out;
        }
        if (s.get().node().isEmpty()) {
            p.error("parameters", "nothing to sweep: name at least one field (or use a training config for one run)");
        }
        Map<FieldRef, String> seen = new HashMap<>();
        for (Map.Entry<String, JsonNode> e : s.get().node().properties()) {
            String name = e.getKey();
            String at = "parameters." + name;
            FieldRef.Resolution r = FieldRef.resolve(name);
            if (r instanceof FieldRef.Resolution.NotFound nf) {
                p.error(at, nf.message());
                continue;
            }
            FieldRef field = ((FieldRef.Resolution.Found) r).field();
            String earlier = seen.putIfAbsent(field, name);
            if (earlier != null) {
                p.error(at, field.canonical() + " is already set by parameters." + earlier);
                continue;
            }
            if (!e.getValue().isObject()) {
                p.error(at, "must be a mapping such as {values: [4, 8, 16]}, {value: 8}, {min: 1e-5, max: 1e-3} or "
                        + "{ratio_to: r, values: [1, 2]}, got " + Section.show(e.getValue()));
                continue;
            }
            domain(new Section((ObjectNode) e.getValue(), at, p), field, method)
                    .ifPresent(d -> out.add(new Parameter(name, field, d)));
        }
        for (Parameter param : out) {
            if (param.domain() instanceof Domain.Tied t) {
                String at = "parameters." + param.name() + ".ratio_to";
                if (t.other().equals(param.field())) {
                    p.error(at, "a field cannot be tied to itself");
                }
                out.stream().filter(o -> o != param && o.field().equals(t.other()) && o.domain() instanceof Domain.Tied)
                        .findFirst().ifPresent(o -> p.error(at, o.name() + " is itself tied (to "
                                + ((Domain.Tied) o.domain()).ratioTo() + "); tie to a field that is not"));
            }
        }
        return out;
    }

    private Optional<Domain> domain(Section s, FieldRef field, SweepMethod method) {
        s.rejectUnknown(PARAMETER_KEYS);
        boolean values = s.has("values");
        boolean value = s.has("value");
        boolean range = s.has("min") || s.has("max");
        if (s.has("ratio_to")) {
            if (range) {
                p.error(s.path("ratio_to"), "a tie takes values (factors) or value, not min/max");
                return Optional.empty();
            }
            Optional<String> other = s.string("ratio_to");
            if (other.isEmpty()) {
                return Optional.empty();
            }
            FieldRef.Resolution r = FieldRef.resolve(other.get());
            if (r instanceof FieldRef.Resolution.NotFound nf) {
                p.error(s.path("ratio_to"), nf.message());
                return Optional.empty();
            }
            List<Double> factors = new ArrayList<>();
            Map<Double, Integer> factorAt = new HashMap<>();
            if (values == value) {
                p.error(s.path(), "a tie needs values: [factors...] or value: factor, e.g. "
                        + "{ratio_to: r, values: [1, 2]}");
                return Optional.empty();
            }
            List<JsonNode> raw = values ? list(s) : s.value("value").map(List::of).orElse(List.of());
            for (int i = 0; i < raw.size(); i++) {
                if (raw.get(i).isNumber()) {
                    factors.add(raw.get(i).doubleValue());
                    Integer j = factorAt.putIfAbsent(raw.get(i).doubleValue(), i);
                    if (j != null) {
                        p.error(s.path("values") + "[" + i + "]", "duplicate factor " + Section.show(raw.get(i))
                                + sameAs(raw.get(i), raw.get(j), j) + ": each point would run twice");
                    }
                } else {
                    String path = values ? s.path("values") + "[" + i + "]" : s.path("value");
                    p.error(path, "a factor must be a number, got " + Section.show(raw.get(i)));
                }
            }
            return factors.size() == raw.size() && !raw.isEmpty()
                    ? Optional.of(new Domain.Tied(other.get(), ((FieldRef.Resolution.Found) r).field(), factors))
                    : Optional.empty();
        }
        boolean gaussian = s.has("mu") || s.has("sigma");
        if ((values ? 1 : 0) + (value ? 1 : 0) + (range || gaussian ? 1 : 0) != 1) {
            p.error(s.path(), (values || value || range || gaussian ? "give only one of" : "give")
                    + " values: [...], value: x, min/max (random and bayes sweeps), mu/sigma with a normal "
                    + "distribution, or ratio_to");
            return Optional.empty();
        }
        Optional<Distribution> named = Choices.read(s, "distribution", Distribution.values());
        if (s.has("distribution") && named.isEmpty()) {
            return Optional.empty();
        }
        Distribution.Kind kind = values ? Distribution.Kind.CATEGORICAL : value ? Distribution.Kind.CONSTANT
                : range ? Distribution.Kind.BOUNDED : Distribution.Kind.GAUSSIAN;
        if (named.isPresent() && named.get().kind() != kind) {
            p.error(s.path("distribution"), named.get().json() + " takes " + KIND_KEYS.get(named.get().kind())
                    + ", not " + KIND_KEYS.get(kind));
            return Optional.empty();
        }
        if (kind == Distribution.Kind.GAUSSIAN && named.isEmpty()) {
            p.error(s.path(), "mu and sigma need distribution: normal, q_normal, log_normal or q_log_normal");
            return Optional.empty();
        }
        if (value) {
            return Optional.of(new Domain.Constant(s.node().get("value").deepCopy()));
        }
        if (values) {
            return categorical(s, named, method);
        }
        return drawn(s, field, method, named);
    }

    /** The keys each kind of distribution reads, as messages name them. */
    private static final Map<Distribution.Kind, String> KIND_KEYS = Map.of(
            Distribution.Kind.CONSTANT, "value", Distribution.Kind.CATEGORICAL, "values",
            Distribution.Kind.BOUNDED, "min/max", Distribution.Kind.GAUSSIAN, "mu/sigma");

    private Optional<Domain> categorical(Section s, Optional<Distribution> named, SweepMethod method) {
        List<JsonNode> list = list(s);
        // compared as trial ids see them (canonical JSON): 16 and 16.0, {a: 1, b: 2} and {b: 2, a: 1} are one
        Map<String, Integer> valueAt = new HashMap<>();
        for (int i = 0; i < list.size(); i++) {
            Integer j = valueAt.putIfAbsent(JsonText.canonical(list.get(i)), i);
            if (j != null) {
                p.error(s.path("values") + "[" + i + "]", "duplicate value " + Section.show(list.get(i))
                        + sameAs(list.get(i), list.get(j), j) + ": each point would run twice");
            }
        }
        if (named.isPresent() && (named.get() == Distribution.CATEGORICAL_W_PROBABILITIES) != s.has("probabilities")) {
            p.error(s.path("distribution"), s.has("probabilities")
                    ? "probabilities go with distribution categorical_w_probabilities (or no distribution)"
                    : "categorical_w_probabilities needs probabilities: one per value, summing to 1");
            return Optional.empty();
        }
        if (!s.has("probabilities")) {
            return list.isEmpty() ? Optional.empty() : Optional.of(new Domain.Values(list));
        }
        if (method instanceof SweepMethod.Grid) {
            p.error(s.path("probabilities"), "a grid runs every value once: probabilities apply to random sweeps");
            return Optional.empty();
        }
        JsonNode raw = s.node().get("probabilities");
        List<Double> probabilities = new ArrayList<>();
        int before = p.errorCount();
        if (!raw.isArray() || raw.size() != list.size()) {
            p.error(s.path("probabilities"), "probabilities must be a list of " + list.size() + " numbers, one per "
                    + "value, got " + Section.show(raw));
            return Optional.empty();
        }
        for (int i = 0; i < raw.size(); i++) {
            JsonNode x = raw.get(i);
            if (!x.isNumber() || !(x.doubleValue() >= 0)) {
                p.error(s.path("probabilities") + "[" + i + "]", "a probability is a number >= 0, got "
                        + Section.show(x));
            } else {
                probabilities.add(x.doubleValue());
            }
        }
        double sum = probabilities.stream().mapToDouble(Double::doubleValue).sum();
        // numpy's isclose(sum, 1), as W&B checks
        if (p.errorCount() == before && Math.abs(sum - 1) > 1e-8 + 1e-5) {
            p.error(s.path("probabilities"), "probabilities must sum to 1, got " + Numbers.format(sum));
        }
        return p.errorCount() > before || list.isEmpty() ? Optional.empty()
                : Optional.of(new Domain.Values(list, probabilities));
    }

    private Optional<Domain> drawn(Section s, FieldRef field, SweepMethod method, Optional<Distribution> named) {
        boolean bounded = s.has("min") || s.has("max");
        int before = p.errorCount();
        List<String> reads = new ArrayList<>(bounded ? List.of("min", "max") : List.of("mu", "sigma"));
        Distribution dist;
        if (named.isPresent()) {
            dist = named.get();
        } else {
            // W&B's schema takes min/max that are both whole numbers as int_uniform, else uniform
            boolean whole = s.number("min").filter(v -> v == Math.rint(v)).isPresent()
                    && s.number("max").filter(v -> v == Math.rint(v)).isPresent();
            dist = whole ? Distribution.INT_UNIFORM : Distribution.UNIFORM;
            if (whole && !field.integer() && !(method instanceof SweepMethod.Grid)) {
                p.warn(s.path() + ": min and max are whole numbers, so (as in W&B) " + field.key() + " is drawn from "
                        + "int_uniform, whole numbers only; write distribution: uniform for values in between");
            }
        }
        if (dist.quantized()) {
            reads.add("q");
        }
        for (String k : List.of("min", "max", "mu", "sigma", "q")) {
            if (s.has(k) && !reads.contains(k)) {
                p.error(s.path(k), dist.json() + " reads " + String.join(", ", reads) + ", not " + k);
            }
        }
        boolean grids = dist == Distribution.INT_UNIFORM || dist == Distribution.Q_UNIFORM;
        if (method instanceof SweepMethod.Grid && !grids) {
            p.error(s.path(), dist.json() + " draws values at random: use method random or bayes, or give values "
                    + "(or int_uniform / q_uniform, which a grid enumerates)");
        }
        Optional<Double> q = s.number("q");
        if (q.isPresent() && !(q.get() > 0)) {
            p.error(s.path("q"), "q must be > 0, got " + Numbers.format(q.get()));
        }
        boolean wholeQ = s.has("q") && s.node().get("q").isIntegralNumber();
        boolean integral = dist == Distribution.INT_UNIFORM || (dist.quantized() && wholeQ);
        if (field.integer() && !integral) {
            p.error(s.path("distribution"), field.key() + " is an integer: use int_uniform, a q_ distribution with "
                    + "a whole q (q: 1), or list values");
        }
        if (!bounded) {
            double mu = s.number("mu").orElse(0.0);
            double sigma = s.number("sigma").orElse(1.0);
            if (!(sigma >= 0)) {
                p.error(s.path("sigma"), "sigma must be >= 0, got " + Numbers.format(sigma));
            }
            return p.errorCount() > before ? Optional.empty()
                    : Optional.of(new Domain.Gaussian(dist, mu, sigma, q.orElse(1.0), integral));
        }
        Optional<Double> min = s.number("min");
        Optional<Double> max = s.number("max");
        for (String k : List.of("min", "max")) {
            if (!s.has(k)) {
                p.error(s.path(k), "missing: a range needs both min and max");
            }
        }
        if (min.isEmpty() || max.isEmpty()) {
            return Optional.empty();
        }
        if (!(min.get() < max.get())) {
            p.error(s.path("max"), "max must be > min (" + Numbers.format(min.get()) + "), got "
                    + Numbers.format(max.get()));
        }
        if (dist.logOfBounds() && !(min.get() > 0)) {
            p.error(s.path("min"), dist.json() + " needs min > 0, got " + Numbers.format(min.get()));
        }
        if (dist == Distribution.INT_UNIFORM) {
            for (String k : List.of("min", "max")) {
                double v = k.equals("min") ? min.get() : max.get();
                if (v != Math.rint(v)) {
                    p.error(s.path(k), "int_uniform needs integer bounds, got " + Numbers.format(v));
                }
            }
        }
        if (dist.exponents() && min.get() > 0 && max.get() < 1) {
            double lo = dist.draw(min.get(), max.get(), q.orElse(1.0), 0);
            double hi = dist.draw(min.get(), max.get(), q.orElse(1.0), 1);
            p.warn(s.path() + ": " + dist.json() + "'s min and max are natural-log exponents, as in W&B: this draws "
                    + "between " + Numbers.format(fiveDigits(lo)) + " and " + Numbers.format(fiveDigits(hi))
                    + "; for values between "
                    + Numbers.format(min.get()) + " and " + Numbers.format(max.get()) + " write distribution: "
                    + dist.withValues().orElseThrow().json());
        }
        return p.errorCount() > before ? Optional.empty()
                : Optional.of(new Domain.Range(dist, min.get(), max.get(), q.orElse(1.0), integral));
    }

    private static double fiveDigits(double x) {
        return new java.math.BigDecimal(x).round(new java.math.MathContext(5)).doubleValue();
    }

    /** {@code " (values[0] is 16)"} when a duplicate is written differently from the value it repeats. */
    private static String sameAs(JsonNode duplicate, JsonNode first, int firstIndex) {
        return Section.show(duplicate).equals(Section.show(first)) ? ""
                : " (values[" + firstIndex + "] is " + Section.show(first) + ")";
    }

    private List<JsonNode> list(Section s) {
        JsonNode v = s.node().get("values");
        if (!v.isArray() || v.isEmpty()) {
            p.error(s.path("values"), "values must be a non-empty list, got " + Section.show(v));
            return List.of();
        }
        List<JsonNode> out = new ArrayList<>();
        v.forEach(e -> out.add(e.deepCopy()));
        return out;
    }

    /**
     * Checks between sections: what the metric needs from the task and data (a name no trial reports is refused
     * with the nearest one), and what early stopping needs from training.
     */
    private void crossChecks(RunSpec base, Metric metric, EarlyTerminate asha, List<Parameter> parameters) {
        List<String> produced = Metric.producedBy(base.task());
        if (!produced.contains(metric.name())) {
            // an abbreviation (eval_acc) is as likely as a typo
            Optional<String> near = Suggestions.closest(metric.name(), produced).or(() -> produced.stream()
                    .filter(k -> k.startsWith(metric.name())).findFirst());
            p.error("metric.name", metric.name() + " is not something a " + base.task() + " trial reports; it"
                    + " reports " + String.join(", ", produced) + near.map(k -> "; did you mean '" + k + "'?")
                    .orElse(""));
        } else if (metric.name().startsWith("eval_") && base.data().eval().isEmpty()) {
            p.error("metric.name", metric.name() + " is measured on data.eval, which is not set: set data.eval, or "
                    + "use a train_ metric such as train_loss");
        }
        boolean sweepsEvalSteps = parameters.stream()
                .anyMatch(x -> x.field().canonical().equals("training.eval_steps"));
        if (asha != null && base.training().evalSteps().isEmpty() && !sweepsEvalSteps) {
            p.error("early_terminate", asha.json() + " compares trials at evaluations, and without training.eval_steps a "
                    + "trial "
                    + "is evaluated only at its end: set training.eval_steps");
        }
        if (asha instanceof Pbt pbt) {
            pbtChecks(base, pbt, parameters);
        }
    }

    /** PBT compares trials at evaluations and copies checkpoints, so both must fall on every perturbation point. */
    private void pbtChecks(RunSpec base, Pbt pbt, List<Parameter> parameters) {
        long every = pbt.perturbationInterval();
        for (String f : List.of("training.eval_steps", "training.save_steps", "training.save_total_limit")) {
            if (parameters.stream().anyMatch(x -> x.field().canonical().equals(f))) {
                p.error("parameters." + f.substring("training.".length()), "pbt needs one " + f + " for every trial"
                        + " (perturbations compare and copy the same steps): set it under training");
            }
        }
        base.training().evalSteps().ifPresent(e -> {
            if (every % e != 0) {
                p.error("scheduler.perturbation_interval", "perturbation_interval (" + every + " steps) must be a "
                        + "multiple of training.eval_steps (" + e + "): trials are compared at evaluations");
            }
        });
        if (base.training().saveSteps().isEmpty()) {
            p.error("training.save_steps", "pbt copies checkpoints at every perturbation_interval: set save_steps to "
                    + "a divisor of " + every);
        } else if (every % base.training().saveSteps().getAsInt() != 0) {
            p.error("scheduler.perturbation_interval", "perturbation_interval (" + every + " steps) must be a "
                    + "multiple of training.save_steps (" + base.training().saveSteps().getAsInt()
                    + "): a trial copies another's checkpoint of that step");
        }
        if (base.training().saveTotalLimit().isPresent()) {
            p.error("training.save_total_limit", "pbt copies the checkpoint of every perturbation step, which "
                    + "save_total_limit would delete: remove it");
        }
    }

    private boolean sizeFits(SweepMethod method, List<Parameter> parameters) {
        if (!(method instanceof SweepMethod.Grid)) {
            return true;
        }
        long size = 1;
        for (Parameter x : parameters) {
            if (x.domain().gridSize() == 0) {
                return false; // reported at the parameter
            }
            try {
                size = Math.multiplyExact(size, x.domain().gridSize());
            } catch (ArithmeticException e) {
                p.error("parameters", "the grid has more than " + Long.MAX_VALUE + " points");
                return false;
            }
        }
        return true;
    }

    /** Each trial of the first {@value #COMBINATIONS_CHECKED}: catches values that are fine alone but not together. */
    private void combinations(SweepSpec spec) {
        Trials trials = spec.trials();
        long n = Math.min(trials.size(), COMBINATIONS_CHECKED);
        int shown = 0;
        for (long i = 0; i < n && shown < COMBINATION_ERRORS_SHOWN; i++) {
            TrialSpec t = trials.get(i);
            if (!t.isValid()) {
                ConfigError first = t.validation().errors().get(0);
                int more = t.validation().errors().size() - 1;
                p.error("parameters", "trial " + i + " (" + t.name() + "): " + first + (more > 0 ? " (and " + more
                        + " more)" : ""));
                shown++;
            }
        }
    }

    private static ObjectNode tree(Section root, String key) {
        JsonNode v = root.node().get(key);
        return v instanceof ObjectNode o ? o : JsonNodeFactory.instance.objectNode();
    }

    /**
     * Puts each parameter value, alone, into the base run and reports what breaks, at the value's own path
     * ({@code parameters.r.values[2]: r must be >= 1, got 0}).
     */
    private final class ValueChecks {
        private final SweepSpec spec;
        private final Set<ConfigError> baseline;

        ValueChecks(SweepSpec spec) {
            this.spec = spec;
            this.baseline = errorsWith(Map.of());
        }

        void run() {
            for (Parameter param : spec.parameters()) {
                String at = "parameters." + param.name();
                FieldRef f = param.field();
                Domain d = param.domain();
                if (d instanceof Domain.Values v) {
                    for (int i = 0; i < v.values().size(); i++) {
                        report(param, at + ".values[" + i + "]", errorsWith(Map.of(f, v.values().get(i))), "");
                    }
                } else if (d instanceof Domain.Constant c) {
                    report(param, at + ".value", errorsWith(Map.of(f, c.value())), "");
                } else if (d instanceof Domain.Range r) {
                    // the ends of what is drawn (e^min and e^max for log_uniform): every quantile function rises
                    boolean integer = f.integer() || r.integral();
                    report(param, at + ".min", errorsWith(Map.of(f, Trials.number(r.draw(0), integer))), "");
                    report(param, at + ".max", errorsWith(Map.of(f, Trials.number(r.draw(1), integer))), "");
                } else if (d instanceof Domain.Gaussian g) {
                    // unbounded: the median is checked; draws far out that a field refuses fail as trials
                    report(param, at + ".mu", errorsWith(Map.of(f, Trials.number(g.draw(0.5), f.integer()
                            || g.integral()))), "");
                } else if (d instanceof Domain.Tied t) {
                    ties(param, t, at);
                }
            }
        }

        private void ties(Parameter param, Domain.Tied t, String at) {
            boolean reportedAlready = t.other().equals(param.field()) || spec.parameters().stream()
                    .anyMatch(x -> x.field().equals(t.other()) && x.domain() instanceof Domain.Tied);
            if (reportedAlready) {
                return;
            }
            List<JsonNode> others = otherValues(t.other());
            if (others.isEmpty() || others.stream().noneMatch(JsonNode::isNumber)) {
                p.error(at + ".ratio_to", t.ratioTo() + " has no number to multiply (it is "
                        + Section.show(spec.trials().baseValue(t.other())) + ")");
                return;
            }
            for (int i = 0; i < t.factors().size(); i++) {
                double factor = t.factors().get(i);
                for (JsonNode o : others) {
                    Set<ConfigError> otherErrors = errorsWith(Map.of(t.other(), o));
                    boolean otherBad = otherErrors.stream().anyMatch(e -> e.path().equals(t.other().canonical()));
                    if (!o.isNumber() || otherBad) {
                        continue; // that value of the other field is reported at its own path
                    }
                    JsonNode tied = Trials.number(o.doubleValue() * factor, param.field().integer());
                    Set<ConfigError> errors = errorsWith(Map.of(param.field(), tied, t.other(), o));
                    errors.removeAll(otherErrors);
                    if (report(param, at + ".values[" + i + "]", errors, " (" + t.ratioTo() + " " + o + " x "
                            + Numbers.format(factor) + ")")) {
                        break; // one example per factor is enough
                    }
                }
            }
            if (spec.method() instanceof SweepMethod.Grid) {
                sameGridPoints(param, t, at, others);
            }
        }

        /**
         * Two factors that give the same value (an integer field rounds: 8 x 0.5 and 8 x 0.55 are both 4) would make
         * two grid points the same trial, with one id and one folder. The other parameters' values are distinct, so
         * this is the only way two points of a grid can coincide. Exact duplicate factors are reported already.
         */
        private void sameGridPoints(Parameter param, Domain.Tied t, String at, List<JsonNode> others) {
            Set<Integer> reported = new HashSet<>();
            for (JsonNode o : others) {
                if (!o.isNumber() || invalid(t.other(), Map.of(t.other(), o))) {
                    continue; // reported at its own path
                }
                Map<String, Integer> first = new HashMap<>();
                for (int i = 0; i < t.factors().size(); i++) {
                    double factor = t.factors().get(i);
                    JsonNode tied = Trials.number(o.doubleValue() * factor, param.field().integer());
                    Integer j = first.putIfAbsent(JsonText.canonical(tied), i);
                    if (j != null && factor != t.factors().get(j)
                            && !invalid(param.field(), Map.of(param.field(), tied, t.other(), o)) && reported.add(i)) {
                        p.error(at + ".values[" + i + "]", param.name() + " " + Section.show(tied) + " ("
                                + t.ratioTo() + " " + o + " x " + Numbers.format(factor) + ") is also what values[" + j
                                + "] gives (" + t.ratioTo() + " " + o + " x " + Numbers.format(t.factors().get(j))
                                + "): two grid points would be the same trial; change or drop a factor");
                    }
                }
            }
        }

        /** The values the tied-to field takes: its parameter's values, range ends or constant, else the base's. */
        private List<JsonNode> otherValues(FieldRef other) {
            for (Parameter x : spec.parameters()) {
                if (x.field().equals(other)) {
                    Domain d = x.domain();
                    if (d instanceof Domain.Values v) {
                        return v.values();
                    }
                    if (d instanceof Domain.Constant c) {
                        return List.of(c.value());
                    }
                    if (d instanceof Domain.Range r) {
                        boolean integer = other.integer() || r.integral();
                        return List.of(Trials.number(r.draw(0), integer), Trials.number(r.draw(1), integer));
                    }
                    if (d instanceof Domain.Gaussian g) {
                        return List.of(Trials.number(g.draw(0.5), other.integer() || g.integral()));
                    }
                    return List.of();
                }
            }
            JsonNode base = spec.trials().baseValue(other);
            return base.isMissingNode() ? List.of() : List.of(base);
        }

        /**
         * Reports the errors a value causes: always those of its own field (even when the base value of that field is
         * wrong too: the parameter replaces it), and those of other fields unless the base run has them already.
         */
        private boolean report(Parameter param, String at, Set<ConfigError> errors, String note) {
            String own = param.field().canonical();
            boolean any = false;
            for (ConfigError e : errors) {
                boolean ownField = e.path().equals(own);
                if (ownField || !baseline.contains(e)) {
                    p.error(at, (ownField ? e.message() : e.toString()) + note);
                    any = true;
                }
            }
            return any;
        }

        /** Whether {@code field} has an error of its own with these values (then it is reported there). */
        private boolean invalid(FieldRef field, Map<FieldRef, JsonNode> values) {
            return errorsWith(values).stream().anyMatch(e -> e.path().equals(field.canonical()));
        }

        private Set<ConfigError> errorsWith(Map<FieldRef, JsonNode> values) {
            ObjectNode lora = spec.loraTree();
            ObjectNode training = spec.trainingTree();
            Map<FieldRef, JsonNode> ordered = new LinkedHashMap<>(values);
            ordered.forEach((f, v) -> f.set(f.part() == FieldRef.Part.LORA ? lora : training, v.deepCopy()));
            Problems q = new Problems();
            spec.base().withSections(lora, training, q);
            return new LinkedHashSet<>(q.errors());
        }
    }
}
