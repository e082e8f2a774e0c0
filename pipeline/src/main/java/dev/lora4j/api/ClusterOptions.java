package dev.lora4j.api;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a node takes part in a lora4j cluster (Pekko Cluster over Artery TCP, optionally TLS): the address it binds
 * and others reach it at, and the coordinator it joins. A coordinator joins itself (it forms the cluster); a worker
 * joins the coordinator's address. Unreachable nodes are downed by Pekko's split-brain resolver with the
 * {@code keep-oldest} strategy: the coordinator is the oldest member, so the side with the coordinator keeps running
 * and a worker cut off from it leaves (and rejoins as a fresh node once it can).
 *
 * @param host the address this node binds and announces (others connect to it); {@code 127.0.0.1} unless asked
 * @param port its port; 0 picks a free one (a worker's default)
 * @param joinHost the coordinator's address
 * @param joinPort the coordinator's port
 * @param tls mutual TLS for every connection between nodes, or null for plain TCP
 */
public record ClusterOptions(String host, int port, String joinHost, int joinPort, Tls tls) {
    /** The coordinator's port unless another is asked for. */
    public static final int DEFAULT_PORT = 25520;

    private static final Pattern HOST_PORT = Pattern.compile("(\\[[0-9A-Fa-f:.]+]|[A-Za-z0-9._-]+):(\\d{1,5})");

    /**
     * Keystores for Artery's {@code tls-tcp} transport with mutual authentication: each node presents the key in
     * its keystore and accepts peers whose certificates its truststore trusts.
     *
     * @param keyStore a PKCS12 or JKS keystore with this node's key and certificate
     * @param keyStorePassword its password (also the key's)
     * @param trustStore the certificates this node trusts
     * @param trustStorePassword its password
     */
    public record Tls(Path keyStore, String keyStorePassword, Path trustStore, String trustStorePassword) {
        /**
         * Checks that the files exist.
         *
         * @param keyStore the keystore
         * @param keyStorePassword its password
         * @param trustStore the truststore
         * @param trustStorePassword its password
         * @throws IllegalArgumentException naming a file that is not there
         */
        public Tls {
            Objects.requireNonNull(keyStorePassword, "keyStorePassword");
            Objects.requireNonNull(trustStorePassword, "trustStorePassword");
            for (Path p : List.of(keyStore, trustStore)) {
                if (!Files.isRegularFile(p)) {
                    throw new IllegalArgumentException("TLS: " + p + " is not a file (a PKCS12 or JKS keystore)");
                }
            }
        }
    }

    /**
     * Checks the ports.
     *
     * @param host this node's address
     * @param port its port, 0 to 65535
     * @param joinHost the coordinator's address
     * @param joinPort its port, 1 to 65535
     * @param tls TLS settings, or null
     * @throws IllegalArgumentException naming the value and what is allowed
     */
    public ClusterOptions {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(joinHost, "joinHost");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0 (any free port) to 65535, got " + port);
        }
        if (joinPort < 1 || joinPort > 65535) {
            throw new IllegalArgumentException("the coordinator's port must be 1 to 65535, got " + joinPort);
        }
    }

    /**
     * A coordinator bound to {@code host:port}, forming the cluster.
     *
     * @param host the address workers reach it at
     * @param port its port (workers join {@code host:port})
     * @return the options
     */
    public static ClusterOptions coordinator(String host, int port) {
        return new ClusterOptions(host, port, host, port == 0 ? DEFAULT_PORT : port, null);
    }

    /**
     * A worker bound to {@code host:port} that joins the coordinator at {@code joinHost:joinPort}.
     *
     * @param joinHost the coordinator's address
     * @param joinPort the coordinator's port
     * @param host the address the coordinator reaches this worker at
     * @param port this worker's port, 0 for any free one
     * @return the options
     */
    public static ClusterOptions worker(String joinHost, int joinPort, String host, int port) {
        return new ClusterOptions(host, port, joinHost, joinPort, null);
    }

    /**
     * @param t mutual TLS settings, or null for plain TCP
     * @return these options with that transport
     */
    public ClusterOptions withTls(Tls t) {
        return new ClusterOptions(host, port, joinHost, joinPort, t);
    }

    /**
     * Reads {@code HOST:PORT} ({@code [::1]:25520} for IPv6).
     *
     * @param text the address
     * @param what what it is, for the error message ({@code --bind})
     * @return the host and the port
     * @throws IllegalArgumentException naming {@code what}, the text and the expected form
     */
    public static HostPort parse(String text, String what) {
        Matcher m = HOST_PORT.matcher(text.strip());
        if (!m.matches()) {
            throw new IllegalArgumentException(what + " must be HOST:PORT (e.g. 127.0.0.1:" + DEFAULT_PORT
                    + "), got \"" + text + "\"");
        }
        int port = Integer.parseInt(m.group(2));
        if (port > 65535) {
            throw new IllegalArgumentException(what + ": the port must be 0 to 65535, got " + port);
        }
        String host = m.group(1).startsWith("[") ? m.group(1).substring(1, m.group(1).length() - 1) : m.group(1);
        return new HostPort(host, port);
    }

    /**
     * A host and a port.
     *
     * @param host the host name or address
     * @param port the port
     */
    public record HostPort(String host, int port) {
        @Override
        public String toString() {
            return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
        }
    }

    /** The actor system's settings for this node, over the classpath configuration. */
    Config config(String role) {
        String seed = "pekko://" + Lora4j.SYSTEM + "@" + new HostPort(joinHost, joinPort);
        Config c = ConfigFactory.empty()
                .withValue("pekko.actor.provider", ConfigValueFactory.fromAnyRef("cluster"))
                .withValue("pekko.remote.artery.canonical.hostname", ConfigValueFactory.fromAnyRef(host))
                .withValue("pekko.remote.artery.canonical.port", ConfigValueFactory.fromAnyRef(port))
                .withValue("pekko.cluster.seed-nodes", ConfigValueFactory.fromIterable(List.of(seed)))
                .withValue("pekko.cluster.roles", ConfigValueFactory.fromIterable(List.of(role)));
        if (tls != null) {
            String engine = "pekko.remote.artery.ssl.config-ssl-engine.";
            c = c.withValue("pekko.remote.artery.transport", ConfigValueFactory.fromAnyRef("tls-tcp"))
                    .withValue(engine + "key-store", ConfigValueFactory.fromAnyRef(
                            tls.keyStore().toAbsolutePath().toString()))
                    .withValue(engine + "key-store-password", ConfigValueFactory.fromAnyRef(tls.keyStorePassword()))
                    .withValue(engine + "key-password", ConfigValueFactory.fromAnyRef(tls.keyStorePassword()))
                    .withValue(engine + "trust-store", ConfigValueFactory.fromAnyRef(
                            tls.trustStore().toAbsolutePath().toString()))
                    .withValue(engine + "trust-store-password",
                            ConfigValueFactory.fromAnyRef(tls.trustStorePassword()))
                    .withValue(engine + "require-mutual-authentication", ConfigValueFactory.fromAnyRef(true));
        }
        // these options, then the user's own settings, then lora4j's cluster defaults, then the libraries' defaults
        Config user = ConfigFactory.defaultOverrides().withFallback(ConfigFactory.defaultApplication());
        Config all = ConfigFactory.load();
        return c.withFallback(user).withFallback(all.getConfig("lora4j.cluster.pekko").atKey("pekko"))
                .withFallback(all).resolve();
    }
}
