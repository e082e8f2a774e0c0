package dev.lora4j.api;

import dev.lora4j.dashboard.DashboardServer;
import java.time.Duration;
import java.util.concurrent.CompletionStage;

/**
 * A sweep's live dashboard on Pekko HTTP: the page at {@code /} and the API under {@code /api}, closed to anyone
 * without the run's token (see {@code docs/report.md}). Started by {@link SweepHandle#serve(String, int)} for a
 * running sweep (it stops shortly after the sweep ends) or by {@link Lora4j#serve(java.nio.file.Path, String, int)}
 * for a run folder, read-only.
 */
public final class Dashboard implements AutoCloseable {
    /** How long a dashboard stays up after its sweep ended, so an open page reads the final state. */
    static final Duration LINGER = Duration.ofSeconds(3);

    private final DashboardServer.Bound bound;

    Dashboard(DashboardServer.Bound bound) {
        this.bound = bound;
    }

    /**
     * The address to open once: it carries the token, which the page trades for a cookie (print it once).
     *
     * @return {@code http://HOST:PORT/?token=TOKEN}
     */
    public String url() {
        return bound.url();
    }

    /**
     * The host the server is bound to.
     *
     * @return the host as given ({@code 127.0.0.1} by default)
     */
    public String host() {
        return bound.host();
    }

    /**
     * The port the server listens on.
     *
     * @return the bound port (the one picked when 0 was asked for)
     */
    public int port() {
        return bound.port();
    }

    /**
     * The run's token, also kept in {@code RUN_DIR/.dashboard-token} (readable by its owner only).
     *
     * @return the token clients send as {@code Authorization: Bearer TOKEN}
     */
    public String token() {
        return bound.token().text();
    }

    /**
     * Stops serving now: the port is freed and open event streams end.
     *
     * @return completes once the server has stopped
     */
    public CompletionStage<Void> stop() {
        return bound.close();
    }

    /**
     * Completes once the server has stopped (a sweep's dashboard stops on its own shortly after the sweep ends).
     *
     * @return completes when it no longer serves
     */
    public CompletionStage<Void> stopped() {
        return bound.binding().whenTerminated().thenApply(t -> null);
    }

    /** Stops serving and waits for it. */
    @Override
    public void close() {
        stop().toCompletableFuture().join();
    }
}
