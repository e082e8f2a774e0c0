package dev.lora4j.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.sweep.Goal;
import dev.lora4j.sweep.SweepMethod;
import dev.lora4j.sweep.SweepSpec;
import dev.lora4j.sweep.TrialSpec;
import dev.lora4j.sweep.Tpe;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The trials of a {@code method: bayes} sweep, proposed one at a time as lanes free up, so that each proposal knows
 * every result that ended before it. A proposal is made only while fewer than {@code slots} trials are in flight;
 * the trials in flight count as bad for it (the constant liar). With one lane, proposal i therefore sees exactly
 * trials 0..i-1, whatever the timing.
 *
 * <p>Each proposal is appended to the run folder's {@value #LOG} (index, id, how many trials had ended and how many
 * were in flight when it was made, the sampler's coordinates and the values) before its trial enters the pipeline. A resumed sweep replays that log first, in order, so the trials that
 * were proposed are the same trials again (ended ones are kept, the others resume), and learns the results of the
 * ended ones from their {@code result.json}, as the pipeline keeps them; only then does it propose new ones.
 */
final class BayesSearch {
    /** The proposal log in the run folder. */
    static final String LOG = "search.jsonl";
    private static final ObjectMapper JSON = new ObjectMapper();

    private record Entry(long index, double[] internal) {}

    private final SweepSpec spec;
    private final Tpe tpe;
    private final Path log;
    private final int slots;
    private final long total;
    /** Set once the sweep is cancelled or reached its target: nothing new is proposed (nor logged) after it. */
    private final java.util.function.BooleanSupplier stopping;
    private final List<TrialSpec> replay = new ArrayList<>();
    private final Map<String, Entry> byId = new HashMap<>();
    private final Map<Long, Tpe.Observation> ended = new LinkedHashMap<>();
    private final Map<Long, double[]> inFlight = new LinkedHashMap<>();
    private int replayed;
    private long next;
    private CompletableFuture<Optional<TrialSpec>> waiting;

    private BayesSearch(SweepSpec spec, Path folder, int slots, boolean resume,
            java.util.function.BooleanSupplier stopping) {
        this.spec = spec;
        this.stopping = stopping;
        this.tpe = spec.trials().tpe();
        this.log = folder.resolve(LOG);
        this.slots = Math.max(1, slots);
        this.total = spec.size();
        if (resume && Files.exists(log)) {
            readLog();
        }
    }

    /** The search of a bayes sweep, or null for another method. */
    static BayesSearch of(SweepRun run) {
        return run.spec().method() instanceof SweepMethod.Bayes
                ? new BayesSearch(run.spec(), run.options().folder(), run.slots(), run.options().resume(),
                        () -> run.cancelled().get() || run.targetReached().get()) : null;
    }

    private void readLog() {
        try {
            for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode n;
                try {
                    n = JSON.readTree(line);
                } catch (IOException e) {
                    break; // a line cut by a kill: that proposal never reached the pipeline
                }
                long index = n.path("index").asLong(-1);
                JsonNode x = n.path("internal");
                if (index != next || !x.isArray() || x.size() != spec.parameters().size()) {
                    break;
                }
                double[] internal = new double[x.size()];
                for (int i = 0; i < internal.length; i++) {
                    internal[i] = x.get(i).asDouble();
                }
                TrialSpec t = spec.trials().bayes(tpe.at(index, internal));
                replay.add(t);
                byId.put(t.id(), new Entry(index, internal));
                next = index + 1;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + log, e);
        }
    }

    /** The next trial: a logged one to replay, a new proposal once a slot is free, or empty after the last. */
    synchronized CompletionStage<Optional<TrialSpec>> next() {
        if (replayed < replay.size()) {
            TrialSpec t = replay.get(replayed++);
            Entry e = byId.get(t.id());
            if (!ended.containsKey(e.index())) {
                inFlight.put(e.index(), e.internal());
            }
            return CompletableFuture.completedFuture(Optional.of(t));
        }
        if (next >= total || stopping.getAsBoolean()) {
            return CompletableFuture.completedFuture(Optional.empty());
        }
        if (inFlight.size() >= slots) {
            waiting = new CompletableFuture<>();
            return waiting;
        }
        return tryPropose();
    }

    /** A new proposal; a proposal log that cannot be written fails the stream (a storage fault stops the sweep). */
    private CompletableFuture<Optional<TrialSpec>> tryPropose() {
        try {
            return CompletableFuture.completedFuture(Optional.of(propose()));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private TrialSpec propose() {
        List<Tpe.Observation> known = new ArrayList<>(ended.values());
        inFlight.forEach((i, x) -> known.add(new Tpe.Observation(i, x, null, false)));
        Tpe.Proposal p = tpe.propose(next, known);
        TrialSpec t = spec.trials().bayes(p);
        // what the proposal knew: trials ended (measured or failed) and trials in flight (the constant liar's)
        ObjectNode line = JSON.createObjectNode().put("index", p.index()).put("id", t.id())
                .put("ended", ended.size()).put("running", inFlight.size());
        ArrayNode x = line.putArray("internal");
        for (double v : p.internal()) {
            x.add(v);
        }
        ObjectNode values = line.putObject("parameters");
        p.assignment().forEach(values::set);
        try {
            Files.writeString(log, line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + log, e);
        }
        byId.put(t.id(), new Entry(p.index(), p.internal()));
        inFlight.put(p.index(), p.internal());
        next++;
        return t;
    }

    /**
     * A trial of this sweep ended (or was kept from an earlier run): finished and stopped trials are measured,
     * failed and rejected ones count as bad, a cancelled one only leaves the trials in flight (it resumes later).
     */
    synchronized void ended(TrialResult r) {
        Entry e = byId.get(r.trialId());
        if (e == null) {
            return;
        }
        inFlight.remove(e.index());
        switch (r.status()) {
            case FINISHED, STOPPED -> {
                Optional<Double> v = r.metric(spec.metric().name()).filter(d -> !d.isNaN());
                Double oriented = v.map(d -> spec.metric().goal() == Goal.MAXIMIZE ? -d : d).orElse(null);
                ended.put(e.index(), new Tpe.Observation(e.index(), e.internal(), oriented, true));
            }
            case FAILED, REJECTED -> ended.put(e.index(), new Tpe.Observation(e.index(), e.internal(), null, true));
            case CANCELLED -> { }
        }
        if (waiting != null && inFlight.size() < slots) {
            CompletableFuture<Optional<TrialSpec>> w = waiting;
            waiting = null;
            if (next >= total || stopping.getAsBoolean()) {
                // a trial cancelled by a stopping sweep must not lead to a proposal that misses its result
                w.complete(Optional.empty());
            } else {
                tryPropose().whenComplete((t, error) -> {
                    if (error != null) {
                        w.completeExceptionally(error);
                    } else {
                        w.complete(t);
                    }
                });
            }
        }
    }
}
