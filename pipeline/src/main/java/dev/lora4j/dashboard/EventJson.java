package dev.lora4j.dashboard;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.api.trial.TrialEvent;
import dev.lora4j.train.StepReport;
import java.nio.file.Path;
import java.util.Map;

/** A trial event as the dashboard's event stream carries it: JSON with result.json's snake_case names. */
final class EventJson {
    static final ObjectMapper JSON = new ObjectMapper();

    private EventJson() {}

    static ObjectNode of(TrialEvent event, Path runFolder) {
        ObjectNode o = JSON.createObjectNode();
        o.put("trial_id", event.trialId());
        if (event instanceof TrialEvent.Queued q) {
            o.put("type", "queued").put("name", q.name()).put("index", q.index());
        } else if (event instanceof TrialEvent.Started s) {
            o.put("type", "started").put("name", s.name()).put("lane", s.lane()).put("node", s.node())
                    .put("total_steps", s.totalSteps()).put("resumed_at_step", s.resumedAtStep())
                    .put("attempt", s.attempt());
        } else if (event instanceof TrialEvent.Progress p) {
            StepReport r = p.report();
            o.put("type", "progress").put("name", p.name()).put("step", r.step()).put("total_steps", r.totalSteps());
            number(o, "loss", r.loss());
            number(o, "learning_rate", r.learningRate());
            number(o, "examples_per_second", r.examplesPerSecond());
            number(o, "tokens_per_second", r.tokensPerSecond());
        } else if (event instanceof TrialEvent.Evaluated e) {
            o.put("type", "evaluated").put("name", e.name()).put("step", e.step()).put("best", e.best());
            metrics(o.putObject("metrics"), e.metrics());
        } else if (event instanceof TrialEvent.Warned w) {
            o.put("type", "warned").put("name", w.name()).put("message", w.message());
        } else if (event instanceof TrialEvent.Checkpointed c) {
            o.put("type", "checkpointed").put("step", c.step());
        } else if (event instanceof TrialEvent.Retried r) {
            o.put("type", "retried").put("name", r.name()).put("attempt", r.attempt())
                    .put("failure", r.failure().kind()).put("reason", r.failure().message())
                    .put("batch_size", r.batchSize()).put("accumulation", r.accumulation());
        } else if (event instanceof TrialEvent.Ended e) {
            o.put("type", "ended").put("kept", e.kept());
            o.set("result", e.result().toJson(runFolder.resolve("trials").resolve(e.trialId())));
        }
        return o;
    }

    static void metrics(ObjectNode into, Map<String, Double> metrics) {
        metrics.forEach((k, v) -> number(into, k, v));
    }

    private static void number(ObjectNode o, String key, double v) {
        if (Double.isFinite(v)) {
            o.put(key, v);
        } else {
            o.putNull(key);
        }
    }
}
