package com.example.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.api.Engine;
import dev.lora4j.api.Lora4j;
import dev.lora4j.api.Pipeline;
import dev.lora4j.api.Sweep;
import dev.lora4j.api.SweepBuilder;
import dev.lora4j.api.SweepHandle;
import dev.lora4j.api.SweepOptions;
import dev.lora4j.api.SweepReport;
import dev.lora4j.api.trial.TrialEvent;
import dev.lora4j.api.trial.TrialResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An app with its own ActorSystem embeds lora4j through its public API only. */
class EmbeddingTest {
    static final Path S2 = Path.of(System.getProperty("fixtures", "../../fixtures")).resolve("tiny-llama-s2")
            .toAbsolutePath().normalize();
    static ActorSystem<Void> app;
    static Lora4j lora4j;

    @BeforeAll
    static void start() {
        app = ActorSystem.create(Behaviors.empty(), "the-app");
        lora4j = Lora4j.on(app);
    }

    @AfterAll
    static void stop() throws Exception {
        lora4j.close();
        assertFalse(app.getWhenTerminated().toCompletableFuture().isDone(), "closing lora4j leaves the app's system");
        app.terminate();
        app.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    static SweepBuilder tiny(String name, int steps) {
        return SweepBuilder.named(name).model(S2.resolve("model"))
                .data(S2.resolve("data.jsonl"), S2.resolve("data.jsonl"))
                .lora(l -> l.targetModules("q_proj", "v_proj").loraDropout(0.05))
                .training(t -> t.learningRate(5e-3).maxSteps(steps).batchSize(4).evalSteps(4).saveSteps(4).seed(3))
                .devices("cpu");
    }

    static Map<String, Long> lifecycle(List<TrialEvent> events) {
        return events.stream().filter(e -> !e.droppable())
                .collect(Collectors.groupingBy(e -> e.getClass().getSimpleName(), Collectors.counting()));
    }

    @Test
    void subscribersThatAttachBeforeTheStartSeeEverythingAndASlowOneSlowsNothing(@TempDir Path tmp)
            throws Exception {
        Sweep sweep = lora4j.sweep(tiny("grid", 8).grid("r", 2, 4, 8).build(), SweepOptions.in(tmp));
        CompletionStage<List<TrialEvent>> fast = sweep.events().runWith(Sink.seq(), app);
        CompletionStage<List<TrialEvent>> slow = sweep.events().throttle(1, Duration.ofMillis(20))
                .runWith(Sink.seq(), app);
        SweepReport report = sweep.start().report().toCompletableFuture().get(5, TimeUnit.MINUTES);
        assertEquals(3, report.count(TrialResult.Status.FINISHED), report.leaderboard().toString());
        List<TrialEvent> f = fast.toCompletableFuture().get(1, TimeUnit.MINUTES);
        List<TrialEvent> s = slow.toCompletableFuture().get(2, TimeUnit.MINUTES);
        assertEquals(Map.of("Queued", 3L, "Started", 3L, "Evaluated", 6L, "Checkpointed", 3L, "Ended", 3L),
                lifecycle(f), "attached before the start, nothing is missed");
        assertEquals(lifecycle(f), lifecycle(s), "a slow subscriber still gets every lifecycle event");
        assertEquals(24, f.stream().filter(e -> e instanceof TrialEvent.Progress).count());
        assertTrue(s.stream().filter(e -> e instanceof TrialEvent.Progress).count() <= 24);
        assertTrue(report.best().isPresent());
        assertTrue(Files.isRegularFile(report.best().get().adapterDir().orElseThrow()
                .resolve("adapter_model.safetensors")));
    }

    @Test
    void aSecondSweepIsCancelledAndItsReportAwaited(@TempDir Path tmp) throws Exception {
        SweepHandle running = lora4j.sweep(tiny("long", 100_000).grid("r", 2, 4).build(),
                SweepOptions.in(tmp)).start();
        running.events().filter(e -> e instanceof TrialEvent.Checkpointed).take(1).runWith(Sink.ignore(), app)
                .toCompletableFuture().get(2, TimeUnit.MINUTES);
        SweepReport report = running.cancel().toCompletableFuture().get(2, TimeUnit.MINUTES);
        assertTrue(report.cancelled());
        assertEquals(2, report.count(TrialResult.Status.CANCELLED), report.leaderboard().toString());
        assertTrue(report.leaderboard().stream().anyMatch(r -> r.checkpoint().isPresent()),
                "a cancelled trial resumes from its checkpoint");
    }

    @Test
    void theAppComposesItsOwnPipelineWithItsOwnTrials(@TempDir Path tmp) throws Exception {
        List<TrialResult> results;
        Pipeline p = lora4j.pipeline(tiny("mine", 4).grid("r", 4).build(), SweepOptions.in(tmp));
        try (p) {
            results = Source.from(List.of(2, 8))
                    .map(r -> p.trial(Map.of("r", r, "lora_alpha", 2 * r)))
                    .via(p.stages().all(p.slots()))
                    .runWith(Sink.seq(), app).toCompletableFuture().get(2, TimeUnit.MINUTES);
        }
        assertEquals(List.of(TrialResult.Status.FINISHED, TrialResult.Status.FINISHED),
                results.stream().map(TrialResult::status).toList());
        SweepReport report = p.report().toCompletableFuture().get(1, TimeUnit.MINUTES);
        assertEquals(2, report.leaderboard().size());
        assertTrue(Files.readString(tmp.resolve("leaderboard.csv")).contains("r2-alpha4"));
    }

    @Test
    void aPeftAdapterIsEvaluatedInOneCall() throws Exception {
        double expected = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                S2.resolve("expected.json").toFile()).get("dora").asDouble();
        Engine.Evaluation e = Engine.evaluate(S2.resolve("model").toString(), S2.resolve("adapters/dora"),
                S2.resolve("data.jsonl"));
        assertEquals(expected, e.loss(), expected * 1e-5);
    }
}
