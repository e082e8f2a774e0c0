package dev.lora4j.cli;

import dev.lora4j.api.ClusterOptions;
import dev.lora4j.api.Dashboard;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

/** Where a dashboard listens ({@code --serve [HOST:]PORT}, {@code serve --port --bind}), checked before anything runs. */
record DashboardAddress(String host, int port) {
    static final String DEFAULT_HOST = "127.0.0.1";
    private static final Pattern PORT = Pattern.compile("\\d{1,9}");

    /** {@code 8765}, {@code 127.0.0.1:8765} or {@code [::1]:8765}; the host defaults to this machine only. */
    static DashboardAddress parse(String option, String text) {
        String t = text.strip();
        if (PORT.matcher(t).matches()) {
            return of(option, DEFAULT_HOST, Integer.parseInt(t));
        }
        ClusterOptions.HostPort hp;
        try {
            hp = ClusterOptions.parse(t, option);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + " must be [HOST:]PORT (e.g. 8765 or 127.0.0.1:8765), got \""
                    + text + "\"");
        }
        return of(option, hp.host(), hp.port());
    }

    static DashboardAddress of(String option, String host, int port) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException(option + ": the port must be 0 to 65535, got " + port);
        }
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException(option + ": the host must not be empty");
        }
        DashboardAddress a = new DashboardAddress(host.strip(), port);
        a.checkFree(option);
        return a;
    }

    /** Refuses a port in use (or a host this machine does not have) before a sweep starts, not after. */
    private void checkFree(String option) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(InetAddress.getByName(host), port));
        } catch (IOException e) {
            throw new IllegalArgumentException(option + ": cannot listen on " + this + " (" + e.getMessage()
                    + "); pick another port, or 0 for any free one");
        }
    }

    /** Waits for the server to listen; a failure is bad input naming the option (a port taken meanwhile). */
    static Dashboard await(String option, DashboardAddress at, CompletionStage<Dashboard> binding) {
        try {
            return binding.toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | CompletionException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            throw new IllegalArgumentException(option + ": cannot listen on " + at + " (" + cause.getMessage() + ")");
        } catch (TimeoutException e) {
            throw new IllegalArgumentException(option + ": the dashboard did not start listening on " + at);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
