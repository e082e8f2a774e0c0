package dev.lora4j.dashboard;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

/** Plain HTTP to a dashboard, headers as given, redirects not followed (the tests look at them). */
public final class DashboardClient {
    private final HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
            .connectTimeout(Duration.ofSeconds(10)).build();
    private final int port;

    public DashboardClient(int port) {
        this.port = port;
    }

    public HttpResponse<String> get(String path, Map<String, String> headers) {
        return send("GET", path, headers);
    }

    public HttpResponse<String> post(String path, Map<String, String> headers) {
        return send("POST", path, headers);
    }

    /** {@code path} is sent as written (so {@code ..} and escapes reach the server unchanged). */
    public HttpResponse<String> send(String method, String path, Map<String, String> headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(20));
        headers.forEach(b::header);
        b.method(method, HttpRequest.BodyPublishers.noBody());
        try {
            return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public static Map<String, String> bearer(String token) {
        return Map.of("Authorization", "Bearer " + token);
    }
}
