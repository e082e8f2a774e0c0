package dev.lora4j.actors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.checkpoint.CheckpointStore;
import dev.lora4j.config.ConfigException;
import dev.lora4j.sweep.Pbt;
import dev.lora4j.sweep.TrialSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiFunction;
import org.slf4j.LoggerFactory;

/**
 * Population-based training as the sweep's rule ({@link Pbt} holds Ray Tune's rules). It keeps the population: each
 * trial's metric at every perturbation step, in the order trials reported it, and each trial's configuration over
 * time (from its lineage). At a perturbation step a trial in the lower quantile of the trials that reached the step
 * copies the checkpoint of that step of a trial drawn from the upper quantile and trains on with that trial's
 * configuration, explored. A parent without that checkpoint on disk is not copied (Ray skips the exploit too).
 * Thread-safe: every session of the sweep consults it.
 */
public final class PopulationBasedTraining implements StopRule {
    private final Pbt pbt;
    private final String metric;
    private final boolean maximize;
    private final Path trialsDir;
    private final BiFunction<TrialSpec, Map<String, JsonNode>, TrialSpec> reconfigure;
    /** Step to each trial's metric there (lower is better), in the order the trials reported it. */
    private final Map<Long, LinkedHashMap<String, Double>> scores = new HashMap<>();
    /** Each trial's configuration from a step on (0: its own). */
    private final Map<String, TreeMap<Long, Map<String, JsonNode>>> configs = new HashMap<>();

    /**
     * @param trialsDir the run folder's {@code trials/}, where parents' checkpoints are
     * @param reconfigure a trial with another configuration (same id, name and index)
     */
    public PopulationBasedTraining(Pbt pbt, String metric, boolean maximize, Path trialsDir,
            BiFunction<TrialSpec, Map<String, JsonNode>, TrialSpec> reconfigure) {
        this.pbt = pbt;
        this.metric = metric;
        this.maximize = maximize;
        this.trialsDir = trialsDir;
        this.reconfigure = reconfigure;
    }

    @Override
    public synchronized String shouldStop(String trialId, long step, Map<String, Double> metrics) {
        record(trialId, step, metrics);
        return null;
    }

    @Override
    public synchronized void replay(String trialId, long step, Map<String, Double> metrics) {
        record(trialId, step, metrics);
    }

    @Override
    public boolean readsCheckpoints() {
        return true;
    }

    @Override
    public synchronized TrialSpec begin(TrialSpec spec, TrialFiles files, boolean resumed, boolean ended) {
        TreeMap<Long, Map<String, JsonNode>> timeline = new TreeMap<>();
        timeline.put(0L, pbt.initialConfig(spec));
        configs.put(spec.id(), timeline);
        if (!resumed) {
            return spec;
        }
        List<ObjectNode> lineage = files.lineage();
        for (ObjectNode line : lineage) {
            Map<String, JsonNode> c = new LinkedHashMap<>();
            line.path("parameters").properties().forEach(e -> c.put(e.getKey(), e.getValue()));
            timeline.put(line.path("step").asLong(), c);
        }
        if (lineage.isEmpty()) {
            return spec;
        }
        if (ended) {
            // its timeline is what the others' decisions read; it trains no more
            return spec;
        }
        ObjectNode last = lineage.get(lineage.size() - 1);
        long step = last.path("step").asLong();
        // a kill may have come between the lineage line and the copy: redo the copy unless training went past it
        boolean past = files.checkpoints().stream().anyMatch(p -> CheckpointStore.stepOf(p) > step);
        Path parent = checkpointOf(last.path("from").asText(), step);
        if (!past && Files.isDirectory(parent)) {
            files.copyCheckpoint(parent, step);
        }
        return reconfigure.apply(spec, timeline.get(step));
    }

    @Override
    public synchronized Exploit exploit(TrialSpec spec, long step) {
        // shouldStop recorded this evaluation; begin gave every trial its configuration timeline
        LinkedHashMap<String, Double> at = scores.get(step);
        if (!pbt.perturbsAt(step) || at == null || !at.containsKey(spec.id())) {
            return null;
        }
        Map<String, Map<String, JsonNode>> now = new HashMap<>();
        at.keySet().forEach(id -> now.put(id, configAt(id, step)));
        Pbt.Exploit e = pbt.decide(spec.id(), spec.index(), step, at, now);
        if (e == null || now.get(e.parent()).isEmpty()) {
            return null;
        }
        Path checkpoint = checkpointOf(e.parent(), step);
        if (!Files.isDirectory(checkpoint)) {
            return null;
        }
        TrialSpec next;
        try {
            next = reconfigure.apply(spec, e.config());
        } catch (ConfigException invalid) {
            // Ray does not clamp x1.2, so a value can leave its field's range (dropout past 1): the trial goes on
            LoggerFactory.getLogger(PopulationBasedTraining.class).warn("trial {}: pbt skips copying trial {} at step"
                    + " {}: {}", spec.id(), e.parent(), step, invalid.getMessage());
            return null;
        }
        configs.get(spec.id()).put(step, e.config());
        return new Exploit(e.parent(), step, checkpoint, next, e.config());
    }

    private Path checkpointOf(String trialId, long step) {
        return new CheckpointStore(trialsDir.resolve(trialId).resolve("checkpoints")).pathOf(step);
    }

    /** The configuration a trial trains with after {@code step} (a copy at that step included). */
    private Map<String, JsonNode> configAt(String trialId, long step) {
        TreeMap<Long, Map<String, JsonNode>> t = configs.get(trialId);
        if (t == null) {
            // a trial known only from replayed progress has its lineage learnt in begin; none yet: no config
            return Map.of();
        }
        return t.floorEntry(step).getValue();
    }

    private void record(String trialId, long step, Map<String, Double> metrics) {
        Double v = metrics.get(metric);
        if (v == null || !Double.isFinite(v) || !pbt.perturbsAt(step)) {
            return;
        }
        scores.computeIfAbsent(step, s -> new LinkedHashMap<>()).put(trialId, maximize ? -v : v);
    }
}
