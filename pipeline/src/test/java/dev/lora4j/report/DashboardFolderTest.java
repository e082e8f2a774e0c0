package dev.lora4j.report;

import static dev.lora4j.dashboard.DashboardClient.bearer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.dashboard.DashboardClient;
import dev.lora4j.dashboard.DashboardServer;
import dev.lora4j.dashboard.DashboardToken;
import dev.lora4j.dashboard.FolderSweep;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The dashboard of a run folder (read-only): who gets in, what it serves, and that data never becomes markup. */
class DashboardFolderTest {
    private static final List<String> GETS = List.of("/", "/static/report.js", "/static/dashboard.js",
            "/static/report.css", "/api/sweep", "/api/trials", "/api/trials/t-a", "/api/events", "/no-such-page",
            "/api/trials/t-a/stop");
    private static final List<String> POSTS = List.of("/api/stop", "/api/trials/t-a/stop", "/", "/api/sweep");
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir static Path dir;
    static ActorSystem<Void> system;
    static DashboardServer.Bound bound;
    static DashboardClient client;

    @BeforeAll
    static void serve() throws Exception {
        new SweepFolder(dir).writeLeaderboard(SampleRun.write(dir));
        system = ActorSystem.create(Behaviors.empty(), "dashboard-folder-test");
        bound = DashboardServer.start(system, new FolderSweep(dir), "127.0.0.1", 0, Duration.ofSeconds(1))
                .toCompletableFuture().get(30, TimeUnit.SECONDS);
        client = new DashboardClient(bound.port());
    }

    @AfterAll
    static void stop() {
        system.terminate();
    }

    private static String token() {
        return bound.token().text();
    }

    private static void assertRefused(HttpResponse<String> r, String what) {
        assertEquals(401, r.statusCode(), what);
        assertEquals("", r.body(), "no detail: " + what);
    }

    @Test
    void everyRouteWantsTheTokenAndSaysNothingWithoutIt() {
        String wrong = "x".repeat(token().length());
        String longer = token() + "x";
        for (String path : GETS) {
            assertRefused(client.get(path, Map.of()), "GET " + path + " without a token");
            assertRefused(client.get(path, bearer(wrong)), "GET " + path + " with a wrong bearer token");
            assertRefused(client.get(path, bearer(longer)), "GET " + path + " with the token and more");
            assertRefused(client.get(path, Map.of("Cookie", "lora4j_dashboard=" + wrong)), "GET " + path
                    + " with a wrong cookie");
            assertRefused(client.get(path + (path.contains("?") ? "&" : "?") + "token=" + wrong, Map.of()),
                    "GET " + path + " with a wrong ?token=");
            assertRefused(client.get(path, Map.of("Authorization", "Basic " + token())), "GET " + path
                    + " with the token under another scheme");
        }
        for (String path : POSTS) {
            assertRefused(client.post(path, Map.of()), "POST " + path + " without a token");
            assertRefused(client.post(path, bearer(wrong)), "POST " + path + " with a wrong token");
            // a cookie alone is what a cross-site form would send: never enough for a change
            assertRefused(client.post(path, Map.of("Cookie", "lora4j_dashboard=" + token())), "POST " + path
                    + " with the cookie alone");
            assertRefused(client.post(path + "?token=" + token(), Map.of()), "POST " + path + " with ?token=");
        }
        // and with the token every GET route answers
        for (String path : List.of("/", "/static/report.js", "/static/dashboard.js", "/static/report.css",
                "/static/dashboard.css", "/api/sweep", "/api/trials", "/api/trials/t-a")) {
            assertEquals(200, client.get(path, bearer(token())).statusCode(), path);
        }
    }

    @Test
    void theTokenIsTradedOnceForAStrictHttpOnlyCookie() {
        HttpResponse<String> r = client.get("/?token=" + token(), Map.of());
        assertEquals(303, r.statusCode());
        assertEquals("/", r.headers().firstValue("Location").orElseThrow(), "the token leaves the address bar");
        String cookie = r.headers().firstValue("Set-Cookie").orElseThrow();
        assertTrue(cookie.startsWith("lora4j_dashboard=" + token() + ";"), cookie);
        assertTrue(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"),
                cookie);
        assertEquals("/", client.get("//evil.example/?token=" + token(), Map.of()).headers().firstValue("Location")
                .orElseThrow(), "never to another host");
        HttpResponse<String> page = client.get("/", Map.of("Cookie", "lora4j_dashboard=" + token()));
        assertEquals(200, page.statusCode());
        assertTrue(page.body().contains("id=\"live-trials\""));
    }

    @Test
    void theTokenFileIsTheOwnersAloneAndKeptForTheRun() throws Exception {
        Path file = dir.resolve(DashboardToken.FILE);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertEquals(token(), Files.readString(file).strip());
        assertTrue(Pattern.matches("[A-Za-z0-9_-]{43}", token()), "256 random bits, URL-safe: " + token());
        assertEquals(token(), DashboardToken.of(dir).text(), "a dashboard started again on the run accepts it");
        assertFalse(DashboardToken.of(dir).matches(null));
    }

    @Test
    void namesAndValuesAreTextNeverMarkup() throws Exception {
        HttpResponse<String> r = client.get("/", bearer(token()));
        String html = r.body();
        assertFalse(html.contains("<script>alert(1)"), "the hostile name is not markup");
        assertTrue(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "it is shown as text");
        assertTrue(html.contains("sample &lt;sweep&gt;"));
        assertFalse(Pattern.compile("<script(?![^>]*\\ssrc=)").matcher(html).find(), "no inline script");
        assertFalse(html.contains("<style"), "no inline stylesheet");
        String csp = r.headers().firstValue("Content-Security-Policy").orElseThrow();
        assertTrue(csp.contains("default-src 'none'") && csp.contains("script-src 'self'")
                && csp.contains("style-src 'self'") && !csp.contains("unsafe"), csp);
        assertEquals("nosniff", r.headers().firstValue("X-Content-Type-Options").orElseThrow());

        HttpResponse<String> trials = client.get("/api/trials", bearer(token()));
        assertTrue(trials.headers().firstValue("Content-Type").orElseThrow().startsWith("application/json"));
        JsonNode list = JSON.readTree(trials.body());
        assertEquals(3, list.size());
        assertEquals(SampleRun.HOSTILE, list.get(0).path("name").asText(), "JSON carries the name as it is");
        JsonNode one = JSON.readTree(client.get("/api/trials/t-c", bearer(token())).body());
        assertEquals("failed", one.path("status").asText());
        assertEquals(SampleRun.REASON, one.path("reason").asText());
    }

    @Test
    void nothingOfTheFolderIsServedAsAFile() {
        for (String path : List.of("/sweep.yaml", "/trials/t-a/result.json", "/static/../sweep.yaml",
                "/static/%2e%2e/sweep.yaml", "/static/..%2fsweep.yaml", "/static/%2E%2E%2Fsweep.yaml",
                "/api/trials/..", "/api/trials/%2e%2e", "/api/trials/t-a%2f..%2f..%2fsweep.yaml",
                "/static/..%5csweep.yaml", "/static/", "/static", "/trials/", "/.dashboard-token",
                "/static/.dashboard-token", "/api/trials/..%2f.dashboard-token", "/api/../sweep.yaml")) {
            HttpResponse<String> r = client.get(path, bearer(token()));
            assertNotEquals(200, r.statusCode(), path);
            assertFalse(r.body().contains("eval_loss") || r.body().contains(token()), path + ": " + r.body());
        }
    }

    @Test
    void aFolderServedFromItsFilesIsReadOnly() throws Exception {
        assertEquals(409, client.post("/api/stop", bearer(token())).statusCode());
        assertEquals(409, client.post("/api/trials/t-a/stop", bearer(token())).statusCode());
        assertEquals(404, client.post("/api/trials/nope/stop", bearer(token())).statusCode());
        JsonNode sweep = JSON.readTree(client.get("/api/sweep", bearer(token())).body());
        assertTrue(sweep.path("read_only").asBoolean());
        assertEquals("ended", sweep.path("state").asText(), "no sweep holds the folder's lock");
        assertEquals("eval_loss", sweep.path("metric").path("name").asText());
        assertEquals(2, sweep.path("counts").path("finished").asInt());
        assertEquals(1, sweep.path("counts").path("failed").asInt());
    }
}
