package dev.lora4j.api;

import static dev.lora4j.dashboard.DashboardClient.bearer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.actors.FakeRuns;
import dev.lora4j.api.trial.TrialEvent;
import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.dashboard.DashboardClient;
import dev.lora4j.sweep.SweepSpec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The dashboard of a running sweep over HTTP: stopping a trial as the user, stopping the sweep, a stalled client. */
class DashboardHttpTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static JsonNode trial(DashboardClient c, String token, String id) {
        try {
            return JSON.readTree(c.get("/api/trials/" + id, bearer(token)).body());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static JsonNode trials(DashboardClient c, String token) {
        try {
            return JSON.readTree(c.get("/api/trials", bearer(token)).body());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static <T> T await(java.util.function.Supplier<T> probe, Predicate<T> done, String what) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        T last = probe.get();
        while (!done.test(last)) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting for " + what + "; last: " + last);
            }
            Thread.sleep(50);
            last = probe.get();
        }
        return last;
    }

    private static List<String> keys(JsonNode n) {
        List<String> k = new ArrayList<>();
        n.fieldNames().forEachRemaining(k::add);
        return k;
    }

    @Test
    void aTrialStoppedFromTheApiEndsAsStoppedByTheUserAndAResumedSweepKeepsIt(@TempDir Path tmp) throws Exception {
        FakeRuns runs = new FakeRuns().stepMillis(15);
        SweepSpec spec = Fakes.sweep("stop-one", 600, 10, 10).grid("r", 2, 4, 8).devices("cpu").build();
        SweepOptions options = SweepOptions.in(tmp).withCpu(2, 1);
        try (Lora4j lora4j = Lora4j.create(Fakes.parts(runs))) {
            SweepHandle h = lora4j.sweep(spec, options).start();
            Dashboard d = h.serve("127.0.0.1", 0).toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertTrue(d.url().startsWith("http://127.0.0.1:" + d.port() + "/?token=" + d.token()), d.url());
            DashboardClient c = new DashboardClient(d.port());
            assertEquals(401, c.get("/api/events", Map.of()).statusCode());
            assertEquals(401, c.post("/api/stop", Map.of()).statusCode());

            JsonNode all = await(() -> trials(c, d.token()), t -> t.size() == 3 && t.get(0).path("steps").asLong() > 12
                    && t.get(1).path("steps").asLong() > 12, "two trials past their first checkpoint");
            String id = all.get(0).path("trial_id").asText();
            String other = all.get(1).path("trial_id").asText();
            String queued = all.get(2).path("trial_id").asText();
            assertEquals("running", all.get(0).path("status").asText());
            assertEquals("queued", all.get(2).path("status").asText(), "two lanes: the third waits");

            // stopped while it waits for a lane: it ends when its turn comes, without training
            assertEquals(202, c.post("/api/trials/" + queued + "/stop", bearer(d.token())).statusCode());

            // what a cross-site form could send: the cookie alone changes nothing
            assertEquals(401, c.post("/api/trials/" + id + "/stop", Map.of("Cookie", "lora4j_dashboard=" + d.token()))
                    .statusCode());
            long before = trial(c, d.token(), id).path("steps").asLong();
            await(() -> trial(c, d.token(), id), t -> t.path("steps").asLong() > before + 5, "it trains on");
            assertEquals("running", trial(c, d.token(), id).path("status").asText());

            assertEquals(202, c.post("/api/trials/" + id + "/stop", bearer(d.token())).statusCode());
            JsonNode stopped = await(() -> trial(c, d.token(), id), t -> !t.path("status").asText().equals("running"),
                    "the trial ends");
            assertEquals("stopped", stopped.path("status").asText(), stopped.toString());
            assertEquals("stopped by the user", stopped.path("reason").asText());
            assertFalse(stopped.has("failure"), "not a failure, not an interruption");
            // ended as an early termination ends a trial: its final metrics, its time and its best adapter
            assertTrue(stopped.path("metrics").has("train_loss"), stopped.toString());
            assertTrue(stopped.path("seconds").asDouble() > 0, stopped.toString());
            assertTrue(Files.isRegularFile(tmp.resolve("trials").resolve(id).resolve("adapter")
                    .resolve("adapter_model.safetensors")), "the stopped trial's adapter");
            JsonNode file = JSON.readTree(tmp.resolve("trials").resolve(id).resolve("result.json").toFile());
            assertEquals(keys(file), keys(stopped), "the API's trial has result.json's keys");
            assertEquals(file.path("status"), stopped.path("status"));
            assertEquals(409, c.post("/api/trials/" + id + "/stop", bearer(d.token())).statusCode(), "ended");
            JsonNode never = await(() -> trial(c, d.token(), queued), t -> t.path("status").asText().equals("stopped"),
                    "the queued trial ends once a lane is free");
            assertEquals("stopped by the user", never.path("reason").asText());
            assertEquals(0, never.path("steps").asLong());
            assertEquals(404, c.post("/api/trials/nope/stop", bearer(d.token())).statusCode());
            assertEquals("running", trial(c, d.token(), other).path("status").asText(), "the sweep goes on");

            // as Ctrl-C once: the other trial checkpoints and the sweep ends, resumable
            assertEquals(202, c.post("/api/stop", bearer(d.token())).statusCode());
            assertTrue(h.isCancelled(), "as Ctrl-C once: the CLI's next Ctrl-C stops at once");
            SweepReport report = h.report().toCompletableFuture().get(1, TimeUnit.MINUTES);
            assertTrue(report.cancelled());
            TrialResult mine = report.leaderboard().stream().filter(r -> r.trialId().equals(id)).findFirst()
                    .orElseThrow();
            assertEquals(TrialResult.Status.STOPPED, mine.status());
            assertEquals("stopped by the user", mine.reason());
            assertEquals(TrialResult.Status.CANCELLED, report.leaderboard().stream()
                    .filter(r -> r.trialId().equals(other)).findFirst().orElseThrow().status());
            String board = Files.readString(tmp.resolve("leaderboard.csv"));
            assertTrue(board.lines().anyMatch(l -> l.contains(id) && l.contains(",stopped,")), board);

            // the server goes with the sweep
            d.stopped().toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertTrue(portClosed(d.port()), "nothing listens on " + d.port() + " any more");

            List<TrialEvent> resumed = SweepLifecycleTest.run(lora4j, spec, options.resuming(true));
            assertTrue(resumed.stream().anyMatch(e -> e instanceof TrialEvent.Ended x && x.kept()
                    && x.trialId().equals(id)), "a resumed sweep keeps the trial the user stopped");
            assertFalse(resumed.stream().anyMatch(e -> e instanceof TrialEvent.Started && (e.trialId().equals(id)
                    || e.trialId().equals(queued))), "nor those the user stopped");
            assertTrue(resumed.stream().anyMatch(e -> e instanceof TrialEvent.Started && e.trialId().equals(other)),
                    "and continues the interrupted one");
        }
    }

    private static boolean portClosed(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    /** One sweep's steps per second, with a client of its event stream that never reads, or none. */
    private record Run(double stepsPerSecond, int progressSeen, int endedSeen) {}

    private static Run run(Lora4j lora4j, FakeRuns runs, Path dir, int steps, long stepMillis, boolean stalledClient)
            throws Exception {
        long stepsBefore = runs.steps();
        runs.stepMillis(stepMillis);
        SweepSpec spec = Fakes.sweep("speed", steps, 0, 0).grid("r", 2, 4).devices("cpu").build();
        SweepHandle h = lora4j.sweep(spec, SweepOptions.in(dir).withCpu(2, 1)).start();
        long t0 = System.nanoTime();
        Dashboard d = h.serve("127.0.0.1", 0).toCompletableFuture().get(30, TimeUnit.SECONDS);
        Socket stalled = null;
        if (stalledClient) {
            stalled = new Socket();
            // a tiny window, so the server's writes to it block as soon as the socket buffers are full
            stalled.setReceiveBufferSize(1024);
            stalled.connect(new InetSocketAddress("127.0.0.1", d.port()));
            stalled.getOutputStream().write(("GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                    + d.token() + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            stalled.getOutputStream().flush();
        }
        h.report().toCompletableFuture().get(2, TimeUnit.MINUTES);
        double seconds = (System.nanoTime() - t0) / 1e9;
        int progress = 0;
        int ended = 0;
        if (stalled != null) {
            // only now does it read: what the server kept for it while it stalled
            String got = readUntilEnd(stalled);
            progress = count(got, "\"type\":\"progress\"");
            ended = count(got, "\"type\":\"ended\"");
            stalled.close();
        }
        d.close();
        return new Run((runs.steps() - stepsBefore) / seconds, progress, ended);
    }

    /**
     * The hub's drop rules hold for the dashboard's clients: one that never reads loses progress events (the sweep
     * sends more than the sockets' buffers hold), never a trial's end, and the sweep finishes at its own pace.
     */
    @Test
    void aClientThatNeverReadsLosesProgressButNeverAnEnd(@TempDir Path tmp) throws Exception {
        int steps = 10_000;
        FakeRuns runs = new FakeRuns();
        try (Lora4j lora4j = Lora4j.create(Fakes.parts(runs))) {
            Run r = run(lora4j, runs, tmp.resolve("stalled"), steps, 0, true);
            System.out.printf("dashboard: a stalled client got %d progress events of %d steps, %d ends of 2 (%.0f"
                    + " steps/s)%n", r.progressSeen(), 2 * steps, r.endedSeen(), r.stepsPerSecond());
            assertEquals(2, r.endedSeen(), "lifecycle events are never dropped, however slow the client");
            assertTrue(r.progressSeen() < 2 * steps, "it stalled for real: progress was dropped for it, not waited"
                    + " for (" + r.progressSeen() + " of " + 2 * steps + ")");
        }
    }

    /**
     * A client that opens the event stream and never reads does not slow the sweep. Measured with steps that take
     * time, as training's do (1 ms each: a hub that waited for the client would stall them), in interleaved runs
     * (ABBA, so a machine that warms up or gets busier favours neither side), medians compared; the bound asserted is
     * looser than the 5% aimed at, because other builds share this machine; the numbers are printed. Steps that take
     * no time ({@code -Dlora4j.dashboard.bench-step-millis=0 -Dlora4j.dashboard.bench-steps=10000}) show a
     * subscriber's fixed CPU cost per event instead.
     */
    @Test
    void aClientThatNeverReadsTheEventStreamDoesNotSlowTheSweep(@TempDir Path tmp) throws Exception {
        int steps = Integer.getInteger("lora4j.dashboard.bench-steps", 1000);
        int rounds = Integer.getInteger("lora4j.dashboard.bench-rounds", 4);
        long stepMillis = Long.getLong("lora4j.dashboard.bench-step-millis", 1);
        List<Double> without = new ArrayList<>();
        List<Double> with = new ArrayList<>();
        FakeRuns runs = new FakeRuns();
        try (Lora4j lora4j = Lora4j.create(Fakes.parts(runs))) {
            run(lora4j, runs, tmp.resolve("warm-up"), steps / 4, stepMillis, true);
            for (int i = 0; i < rounds; i++) {
                boolean plainFirst = i % 2 == 0;
                if (plainFirst) {
                    without.add(run(lora4j, runs, tmp.resolve("plain-" + i), steps, stepMillis, false)
                            .stepsPerSecond());
                }
                with.add(run(lora4j, runs, tmp.resolve("stalled-" + i), steps, stepMillis, true).stepsPerSecond());
                if (!plainFirst) {
                    without.add(run(lora4j, runs, tmp.resolve("plain-" + i), steps, stepMillis, false)
                            .stepsPerSecond());
                }
            }
        }
        double ratio = median(with) / median(without);
        System.out.printf("dashboard: %d ms steps, steps/s without a client %s (median %.0f), with a stalled client %s"
                + " (median %.0f): ratio %.3f%n", stepMillis, fmt(without), median(without), fmt(with), median(with),
                ratio);
        assertTrue(ratio > 0.8, "a stalled client slowed the sweep: ratio " + ratio);
    }

    private static String readUntilEnd(Socket s) throws IOException {
        s.setSoTimeout(20_000);
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        InputStream in = s.getInputStream();
        byte[] buf = new byte[65536];
        try {
            for (int n; (n = in.read(buf)) > 0; ) {
                all.write(buf, 0, n);
                if (all.toString(StandardCharsets.UTF_8).contains("event: end")) {
                    break;
                }
            }
        } catch (SocketTimeoutException e) {
            // what came is what it got
        }
        return all.toString(StandardCharsets.UTF_8);
    }

    private static int count(String s, String what) {
        int n = 0;
        for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }

    private static double median(List<Double> xs) {
        double[] a = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
    }

    private static String fmt(List<Double> xs) {
        return Arrays.toString(xs.stream().mapToLong(Math::round).toArray());
    }
}
