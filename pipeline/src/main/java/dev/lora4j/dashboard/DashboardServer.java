package dev.lora4j.dashboard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.lora4j.api.SweepReport;
import dev.lora4j.api.trial.TrialEvent;
import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.report.HtmlReport;
import dev.lora4j.report.SweepFolder;
import dev.lora4j.sweep.Asha;
import dev.lora4j.sweep.Hyperband;
import dev.lora4j.sweep.SweepSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.regex.Pattern;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * The live dashboard of one sweep on Pekko HTTP: the page ({@code GET /}, the report's own rendering with a live
 * panel), its stylesheet and scripts, and the API ({@code /api/sweep}, {@code /api/trials[/ID]}, {@code /api/events}
 * as server-sent events, {@code POST /api/trials/ID/stop}, {@code POST /api/stop}).
 *
 * <p>Closed to strangers: every request needs the run's token (a bearer header, or the cookie that {@code ?token=}
 * sets once); a POST needs the header, so a cookie alone (a cross-site form) never stops anything. A request without
 * it gets a bare 401. Nothing of the run folder is served as a file: the routes are a fixed list, and a path with a
 * dot segment or an escaped slash is refused before routing.
 */
public final class DashboardServer {
    /** The cookie that {@code ?token=} sets: HttpOnly, SameSite=Strict. */
    static final String COOKIE = "lora4j_dashboard";

    private static final Pattern TRIAL_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,199}");
    /** The page's stylesheets and scripts, read from the classpath once. */
    private static final Map<String, HttpResponse> ASSETS = assets("report.css", "report.js", "dashboard.css",
            "dashboard.js");
    // no inline script or style, nothing from elsewhere; the page's script re-applies the markup's style attributes
    // through the CSSOM, which style-src does not govern
    private static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
            + " connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    private static final Duration HEARTBEAT = Duration.ofSeconds(10);

    /** A bound server: where it listens and the token it wants. */
    public static final class Bound {
        private final String host;
        private final int port;
        private final DashboardToken token;
        private final ServerBinding binding;
        private final java.util.concurrent.atomic.AtomicReference<CompletionStage<Void>> closing =
                new java.util.concurrent.atomic.AtomicReference<>();

        Bound(String host, int port, DashboardToken token, ServerBinding binding) {
            this.host = host;
            this.port = port;
            this.token = token;
            this.binding = binding;
        }

        public String host() {
            return host;
        }

        public int port() {
            return port;
        }

        public DashboardToken token() {
            return token;
        }

        public ServerBinding binding() {
            return binding;
        }

        /** The URL to print once: it carries the token, which the page trades for a cookie. */
        public String url() {
            String h = host.contains(":") ? "[" + host + "]" : host;
            return "http://" + h + ":" + port + "/?token=" + token.text();
        }

        /** Stops listening and ends open connections (event streams included); once, however often it is called. */
        public CompletionStage<Void> close() {
            CompletableFuture<Void> mine = new CompletableFuture<>();
            if (!closing.compareAndSet(null, mine)) {
                return closing.get();
            }
            binding.terminate(Duration.ofSeconds(2)).whenComplete((t, e) -> mine.complete(null));
            return mine;
        }
    }

    private final ActorSystem<?> system;
    private final LiveSweep sweep;
    private final DashboardToken token;
    private final TrialStates states;
    private final Executor blocking;
    /** sweep.yaml as a tree (null when unreadable), read once: a sweep never rewrites it. */
    private final JsonNode spec;
    /** The sweep's name (sweep.yaml's, else the folder's), the same in every answer. */
    private final String name;
    /** The sweep's early termination and the steps it decides at (ASHA's rungs, Hyperband's bands), or null. */
    private final ObjectNode earlyTerminate;

    private DashboardServer(ActorSystem<?> system, LiveSweep sweep, DashboardToken token) {
        this.system = system;
        this.sweep = sweep;
        this.token = token;
        this.states = new TrialStates(sweep.folder());
        this.blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
        this.spec = readSpec(sweep.folder());
        String folderName = sweep.folder().getFileName().toString();
        this.name = spec == null ? folderName : spec.path("name").asText(folderName);
        this.earlyTerminate = sweep.spec().map(DashboardServer::earlyTerminate).orElse(null);
    }

    /**
     * Binds the dashboard of {@code sweep} to {@code host:port} (port 0: any free one). It stops {@code linger} after
     * the sweep ended, the time an open page needs to read the final state.
     */
    public static CompletionStage<Bound> start(ActorSystem<?> system, LiveSweep sweep, String host, int port,
            Duration linger) {
        DashboardToken token = DashboardToken.of(sweep.folder());
        DashboardServer server = new DashboardServer(system, sweep, token);
        // the dashboard's own subscription: it keeps where every trial is, for the API and the page's statuses
        sweep.events().runWith(Sink.foreach(server.states::add), system);
        return Http.get(system).newServerAt(host, port).bind(server::handle).thenApply(b -> {
            Bound bound = new Bound(host, b.localAddress().getPort(), token, b);
            sweep.ended().whenComplete((r, e) -> system.scheduler().scheduleOnce(linger, bound::close,
                    system.executionContext()));
            return bound;
        });
    }

    CompletionStage<HttpResponse> handle(HttpRequest request) {
        request.discardEntityBytes(system);
        try {
            return secured(route(request));
        } catch (RuntimeException e) {
            system.log().warn("dashboard: {} {} failed: {}", request.method().value(), request.getUri().path(), e);
            return CompletableFuture.completedFuture(secured(HttpResponse.create()
                    .withStatus(StatusCodes.INTERNAL_SERVER_ERROR)));
        }
    }

    private static CompletionStage<HttpResponse> secured(CompletionStage<HttpResponse> response) {
        return response.thenApply(DashboardServer::secured);
    }

    private static HttpResponse secured(HttpResponse r) {
        return r.addHeaders(List.of(RawHeader.create("Content-Security-Policy", CSP),
                RawHeader.create("X-Content-Type-Options", "nosniff"), RawHeader.create("Referrer-Policy", "no-referrer"),
                RawHeader.create("X-Frame-Options", "DENY"), RawHeader.create("Cache-Control", "no-store")));
    }

    private CompletionStage<HttpResponse> route(HttpRequest request) {
        boolean post = request.method().equals(HttpMethods.POST);
        boolean get = request.method().equals(HttpMethods.GET);
        String bearer = bearer(request);
        boolean byHeader = token.matches(bearer);
        if (post && !byHeader) {
            // a cookie alone never authorizes a change: a cross-site form would carry it
            return done(unauthorized());
        }
        if (!byHeader && !token.matches(cookie(request))) {
            Optional<String> query = request.getUri().query().get("token");
            if (get && query.isPresent() && token.matches(query.get())) {
                // traded once for a cookie, and the token leaves the address bar (and the history); only to a path
                // of this server (//host would be another one)
                String path = request.getUri().path();
                String back = path.startsWith("/") && !path.startsWith("//") && !path.contains("\\") ? path : "/";
                return done(HttpResponse.create().withStatus(StatusCodes.SEE_OTHER)
                        .addHeader(RawHeader.create("Location", back))
                        .addHeader(RawHeader.create("Set-Cookie", COOKIE + "=" + token.text()
                                + "; Path=/; HttpOnly; SameSite=Strict")));
            }
            return done(unauthorized());
        }
        List<String> path = segments(request);
        if (path == null) {
            return done(notFound());
        }
        if (get) {
            return get(path);
        }
        if (post) {
            return post(path);
        }
        return done(HttpResponse.create().withStatus(StatusCodes.METHOD_NOT_ALLOWED));
    }

    /** The decoded path segments, or null for a path that tries to leave its place (dot segments, escaped slashes). */
    static List<String> segments(HttpRequest request) {
        String raw = request.getUri().toRelative().path();
        String lower = raw.toLowerCase(Locale.ROOT);
        if (lower.contains("%2f") || lower.contains("%5c") || lower.contains("%00") || raw.contains("\\")) {
            return null;
        }
        List<String> out = new ArrayList<>();
        for (String s : request.getUri().pathSegments()) {
            if (s.equals(".") || s.equals("..") || s.contains("/") || s.contains("\\") || s.indexOf('\0') >= 0) {
                return null;
            }
            if (!s.isEmpty()) {
                out.add(s);
            }
        }
        return out;
    }

    private static Map<String, HttpResponse> assets(String... names) {
        Map<String, HttpResponse> out = new java.util.HashMap<>();
        for (String name : names) {
            ContentType type = ContentTypes.create(name.endsWith(".css") ? MediaTypes.TEXT_CSS
                    : MediaTypes.APPLICATION_JAVASCRIPT, org.apache.pekko.http.javadsl.model.HttpCharsets.UTF_8);
            out.put(name, HttpResponse.create().withEntity(type, HtmlReport.asset(name)
                    .getBytes(StandardCharsets.UTF_8)));
        }
        return Map.copyOf(out);
    }

    private CompletionStage<HttpResponse> get(List<String> path) {
        if (path.isEmpty()) {
            return CompletableFuture.supplyAsync(this::page, blocking).exceptionally(e -> {
                // nothing readable yet (a sweep that has only just started): the page asks again
                system.log().debug("dashboard: page not ready: {}", e.toString());
                return HttpResponse.create().withStatus(StatusCodes.SERVICE_UNAVAILABLE)
                        .addHeader(RawHeader.create("Retry-After", "1"));
            });
        }
        if (path.size() == 2 && path.get(0).equals("static") && ASSETS.containsKey(path.get(1))) {
            return done(ASSETS.get(path.get(1)));
        }
        if (!path.get(0).equals("api")) {
            return done(notFound());
        }
        List<String> api = path.subList(1, path.size());
        // trials' params.json and a folder's files are read for the answer: off the route's thread
        return fresh().thenComposeAsync(x -> api(api), blocking);
    }

    /** A folder served from its files is read again for each API request; a live sweep's states are current. */
    private CompletionStage<?> fresh() {
        return sweep.readOnly() ? sweep.events().runWith(Sink.foreach(states::add), system)
                : CompletableFuture.completedFuture(null);
    }

    private CompletionStage<HttpResponse> api(List<String> api) {
        if (api.equals(List.of("sweep"))) {
            return done(json(sweepJson(true)));
        }
        if (api.equals(List.of("trials"))) {
            ArrayNode all = EventJson.JSON.createArrayNode();
            states.all().forEach(s -> all.add(states.json(s)));
            return done(json(all));
        }
        if (api.size() == 2 && api.get(0).equals("trials")) {
            TrialStates.State s = trial(api.get(1));
            return done(s == null ? notFound() : json(states.json(s)));
        }
        if (api.equals(List.of("events"))) {
            return done(events());
        }
        return done(notFound());
    }

    private CompletionStage<HttpResponse> post(List<String> path) {
        if (path.equals(List.of("api", "stop"))) {
            if (sweep.readOnly()) {
                return done(conflict("read-only: no sweep of this process runs in this folder"));
            }
            sweep.cancel();
            return done(json(EventJson.JSON.createObjectNode().put("stopping", true)).withStatus(StatusCodes.ACCEPTED));
        }
        if (path.size() == 4 && path.get(0).equals("api") && path.get(1).equals("trials") && path.get(3).equals("stop")) {
            TrialStates.State s = trial(path.get(2));
            if (s == null) {
                return done(notFound());
            }
            if (sweep.readOnly()) {
                return done(conflict("read-only: no sweep of this process runs in this folder"));
            }
            if (s.result() != null) {
                return done(conflict("trial " + s.trialId() + " has ended (" + s.state() + ")"));
            }
            sweep.stop(s.trialId());
            return done(json(EventJson.JSON.createObjectNode().put("trial_id", s.trialId()).put("stopping", true))
                    .withStatus(StatusCodes.ACCEPTED));
        }
        return done(notFound());
    }

    private TrialStates.State trial(String id) {
        return TRIAL_ID.matcher(id).matches() ? states.get(id) : null;
    }

    /**
     * {@code {"type": "asha", "rungs": [steps...]}} (or Hyperband's bands, in steps), as the sweep applies them; null
     * without early termination (or with PBT, which has no rungs).
     */
    private static ObjectNode earlyTerminate(SweepSpec spec) {
        long every = spec.base().training().evalSteps().orElse(1);
        List<Long> rungs;
        String type;
        if (spec.earlyTerminate().orElse(null) instanceof Asha a) {
            type = "asha";
            // without max_t the rungs go on; the page wants those before the trials' last step
            int last = spec.base().training().maxSteps();
            rungs = a.rungSteps(every).stream().filter(r -> last <= 0 || r < last).toList();
        } else if (spec.earlyTerminate().orElse(null) instanceof Hyperband h) {
            type = "hyperband";
            rungs = h.bands().stream().map(b -> b * every).toList();
        } else {
            return null;
        }
        ObjectNode o = EventJson.JSON.createObjectNode().put("type", type);
        ArrayNode steps = o.putArray("rungs");
        rungs.forEach(steps::add);
        return o;
    }

    private static JsonNode readSpec(Path folder) {
        try {
            return new YAMLMapper().readTree(folder.resolve(SweepFolder.SPEC).toFile());
        } catch (IOException e) {
            return null;
        }
    }

    /** The sweep: its spec as run, its state and its trials by status. */
    private ObjectNode sweepJson(boolean withSpec) {
        ObjectNode o = EventJson.JSON.createObjectNode();
        Optional<SweepReport> done = sweep.finalReport();
        String state = done.isPresent() ? done.get().cancelled() ? "cancelled" : "finished"
                : sweep.readOnly() ? FolderSweep.running(sweep.folder()) ? "running" : "ended" : "running";
        o.put("name", name);
        o.put("state", state);
        o.put("read_only", sweep.readOnly());
        ObjectNode counts = o.putObject("counts");
        for (TrialStates.State s : states.all()) {
            counts.put(s.state(), counts.path(s.state()).asInt() + 1);
        }
        o.put("trials", states.all().size());
        if (earlyTerminate != null) {
            o.set("early_terminate", earlyTerminate);
        }
        if (withSpec && spec != null) {
            o.set("metric", spec.path("metric"));
            o.set("spec", spec);
        } else if (withSpec) {
            o.putNull("spec");
        }
        return o;
    }

    /** A snapshot of every trial (the API's view), the hub's state of each trial, then live events, then the end. */
    private HttpResponse events() {
        ObjectNode snapshot = EventJson.JSON.createObjectNode();
        snapshot.set("sweep", sweepJson(false));
        ArrayNode trials = snapshot.putArray("trials");
        states.all().forEach(s -> trials.add(states.json(s)));
        Path folder = sweep.folder();
        Source<ByteString, NotUsed> body = Source.single(sse("snapshot", snapshot))
                .concat(sweep.events().map((TrialEvent e) -> sse("trial", EventJson.of(e, folder))))
                // the end only once the report is final, so the page's last rendering is the final leaderboard
                .concat(Source.lazyCompletionStage(() -> sweep.ended().handle((r, e) -> sse("end", sweepJson(false)))))
                .keepAlive(HEARTBEAT, () -> ByteString.fromString(":\n\n"));
        return HttpResponse.create().withEntity(HttpEntities.createChunked(
                MediaTypes.TEXT_EVENT_STREAM.toContentType(), body));
    }

    private static ByteString sse(String type, JsonNode data) {
        // compact JSON has no line breaks, so one data line carries it
        return ByteString.fromString("event: " + type + "\ndata: " + data + "\n\n");
    }

    private HttpResponse page() {
        SweepReport report = report();
        String html = HtmlReport.renderLive(sweep.folder(), report, new HtmlReport.Live(token.text(),
                sweep.finalReport().isPresent() ? Map.of() : states.unended(), sweep.readOnly()));
        return HttpResponse.create().withEntity(ContentTypes.TEXT_HTML_UTF8, html.getBytes(StandardCharsets.UTF_8));
    }

    /** The report as the page draws it now: the folder's, with what the events say of trials it has not listed. */
    private SweepReport report() {
        Optional<SweepReport> done = sweep.finalReport();
        if (done.isPresent()) {
            return done.get();
        }
        // nothing readable yet (or a file being replaced) fails the page, which asks again
        SweepReport folder = new SweepFolder(sweep.folder()).readReport();
        List<TrialResult> merged = new ArrayList<>();
        for (TrialResult t : folder.leaderboard()) {
            TrialStates.State s = states.get(t.trialId());
            if (s != null && s.result() != null) {
                merged.add(s.result());
            } else if (s != null) {
                merged.add(t.toBuilder().steps(s.step()).metrics(s.metrics()).build());
            } else {
                merged.add(t);
            }
        }
        return new SweepReport(folder.name(), folder.metric(), merged, folder.wallTime(), false, null);
    }

    private static CompletionStage<HttpResponse> done(HttpResponse r) {
        return CompletableFuture.completedFuture(r);
    }

    private static HttpResponse json(JsonNode body) {
        return HttpResponse.create().withEntity(ContentTypes.APPLICATION_JSON,
                body.toString().getBytes(StandardCharsets.UTF_8));
    }

    private static HttpResponse unauthorized() {
        return HttpResponse.create().withStatus(StatusCodes.UNAUTHORIZED)
                .addHeader(RawHeader.create("WWW-Authenticate", "Bearer"));
    }

    private static HttpResponse notFound() {
        return HttpResponse.create().withStatus(StatusCodes.NOT_FOUND);
    }

    private static HttpResponse conflict(String why) {
        return json(EventJson.JSON.createObjectNode().put("error", why)).withStatus(StatusCodes.CONFLICT);
    }

    private static String bearer(HttpRequest request) {
        Optional<HttpHeader> h = request.getHeader("Authorization");
        if (h.isEmpty()) {
            return null;
        }
        String v = h.get().value().strip();
        return v.regionMatches(true, 0, "Bearer ", 0, 7) ? v.substring(7).strip() : null;
    }

    private static String cookie(HttpRequest request) {
        Optional<HttpHeader> h = request.getHeader("Cookie");
        if (h.isEmpty()) {
            return null;
        }
        for (String pair : h.get().value().split(";")) {
            String p = pair.strip();
            if (p.startsWith(COOKIE + "=")) {
                return p.substring(COOKIE.length() + 1);
            }
        }
        return null;
    }
}
