package dev.lora4j.report;

import static dev.lora4j.dashboard.DashboardClient.bearer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.dashboard.DashboardClient;
import dev.lora4j.dashboard.DashboardServer;
import dev.lora4j.dashboard.FolderSweep;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The live page shows where each trial stands against the sweep's early termination: its rungs, in steps. */
class DashboardRungsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode sweep(Path dir, String earlyTerminate) throws Exception {
        new SweepFolder(dir).writeLeaderboard(SampleRun.write(dir));
        Path tiny = Path.of("../fixtures/tiny-llama-s2").toAbsolutePath().normalize();
        Files.writeString(dir.resolve(SweepFolder.SPEC), """
                name: rungs
                model: %s
                data: {train: %s, eval: %s}
                training: {max_steps: 100, eval_steps: 5}
                method: grid
                metric: {name: eval_loss, goal: minimize}
                parameters: {r: {values: [4, 8]}}
                """.formatted(tiny.resolve("model"), tiny.resolve("data.jsonl"), tiny.resolve("data.jsonl"))
                + earlyTerminate);
        ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "dashboard-rungs-test");
        try {
            DashboardServer.Bound bound = DashboardServer.start(system, new FolderSweep(dir), "127.0.0.1", 0,
                    Duration.ofSeconds(1)).toCompletableFuture().get(30, TimeUnit.SECONDS);
            return JSON.readTree(new DashboardClient(bound.port()).get("/api/sweep", bearer(bound.token().text()))
                    .body());
        } finally {
            system.terminate();
        }
    }

    @Test
    void ashaRungsAreTheStepsTheSweepJudgesAt(@TempDir Path dir) throws Exception {
        // grace 2 evaluations of 5 steps, eta 3: 10, 30, 90 (270 is past max_steps)
        JsonNode s = sweep(dir, "early_terminate: {type: asha, grace_period: 2, reduction_factor: 3}\n");
        assertEquals("asha", s.path("early_terminate").path("type").asText(), s.toString());
        assertEquals(JSON.readTree("[10, 30, 90]"), s.path("early_terminate").path("rungs"));
    }

    @Test
    void hyperbandBandsCountEvaluations(@TempDir Path dir) throws Exception {
        JsonNode s = sweep(dir, "early_terminate: {type: hyperband, min_iter: 3, eta: 2}\n");
        assertEquals("hyperband", s.path("early_terminate").path("type").asText(), s.toString());
        assertEquals(15, s.path("early_terminate").path("rungs").get(0).asLong(), s.toString());
    }

    @Test
    void noEarlyTerminationNoRungs(@TempDir Path dir) throws Exception {
        JsonNode s = sweep(dir, "");
        assertEquals("rungs", s.path("name").asText(), "the spec was read");
        assertFalse(s.has("early_terminate"), s.toString());
    }
}
