package dev.lora4j.dashboard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.api.trial.TrialEvent;
import dev.lora4j.api.trial.TrialResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where each trial is, from one subscription of the dashboard to the sweep's events: what {@code /api/trials} and the
 * page's statuses say. One stream writes it; requests read immutable snapshots of each trial.
 */
final class TrialStates {
    /** One trial's state; {@code result} once it ended. */
    record State(String trialId, String name, long index, String state, String lane, String node, long step,
            long totalSteps, Map<String, Double> metrics, int attempts, TrialResult result) {}

    private final Map<String, State> trials = new ConcurrentHashMap<>();
    private final Path runFolder;

    TrialStates(Path runFolder) {
        this.runFolder = runFolder;
    }

    void add(TrialEvent event) {
        // a served folder adds from each request's reading as well as from the dashboard's own subscription
        trials.compute(event.trialId(), (id, old) -> next(old != null ? old
                : new State(id, id, trials.size(), "queued", null, null, 0, 0, Map.of(), 0, null), event));
    }

    private static State next(State s, TrialEvent event) {
        State next = s;
        if (event instanceof TrialEvent.Queued q) {
            next = new State(s.trialId(), q.name(), q.index(), "queued", null, null, s.step(), s.totalSteps(),
                    s.metrics(), s.attempts(), null);
        } else if (event instanceof TrialEvent.Started st) {
            next = new State(s.trialId(), st.name(), s.index(), "running", st.lane(), st.node(),
                    Math.max(s.step(), st.resumedAtStep()), st.totalSteps(), s.metrics(), st.attempt(),
                    null);
        } else if (event instanceof TrialEvent.Progress p && s.result() == null) {
            next = new State(s.trialId(), p.name(), s.index(), s.state(), s.lane(), s.node(), p.report().step(),
                    p.report().totalSteps(), s.metrics(), s.attempts(), null);
        } else if (event instanceof TrialEvent.Evaluated e && s.result() == null) {
            next = new State(s.trialId(), e.name(), s.index(), s.state(), s.lane(), s.node(),
                    Math.max(s.step(), e.step()), s.totalSteps(), Map.copyOf(e.metrics()), s.attempts(),
                    null);
        } else if (event instanceof TrialEvent.Retried r) {
            next = new State(s.trialId(), r.name(), s.index(), "retrying", null, null, s.step(), s.totalSteps(),
                    s.metrics(), r.attempt(), null);
        } else if (event instanceof TrialEvent.Ended e) {
            TrialResult r = e.result();
            next = new State(s.trialId(), r.name(), r.index(), r.status().json(), null, null, r.steps(),
                    s.totalSteps(), r.metrics(), r.attempts(), r);
        }
        return next;
    }

    /** Every trial, in sweep order. */
    List<State> all() {
        return trials.values().stream().sorted(java.util.Comparator.comparingLong(State::index)).toList();
    }

    State get(String trialId) {
        return trials.get(trialId);
    }

    /** Status text of the trials that have not ended, for the page's leaderboard. */
    Map<String, String> unended() {
        Map<String, String> out = new LinkedHashMap<>();
        all().stream().filter(s -> s.result() == null).forEach(s -> out.put(s.trialId(), s.state()));
        return out;
    }

    /** A trial as result.json holds it; one that has not ended says where it is, with the same keys. */
    ObjectNode json(State s) {
        Path dir = runFolder.resolve("trials").resolve(s.trialId());
        if (s.result() != null) {
            return s.result().toJson(dir);
        }
        ObjectNode o = EventJson.JSON.createObjectNode();
        o.put("trial_id", s.trialId()).put("name", s.name()).put("index", s.index()).put("status", s.state())
                .put("steps", s.step()).put("attempts", s.attempts());
        if (s.node() != null) {
            o.put("node", s.node());
        }
        if (s.lane() != null) {
            o.put("lane", s.lane());
        }
        o.put("total_steps", s.totalSteps());
        o.set("parameters", parameters(dir));
        EventJson.metrics(o.putObject("metrics"), s.metrics());
        return o;
    }

    private static JsonNode parameters(Path trialDir) {
        try {
            Path p = trialDir.resolve("params.json");
            if (Files.isRegularFile(p)) {
                JsonNode n = EventJson.JSON.readTree(p.toFile());
                if (n.path("parameters").isObject()) {
                    return n.get("parameters");
                }
            }
        } catch (IOException e) {
            // being written: the next request reads it
        }
        return EventJson.JSON.createObjectNode();
    }
}
