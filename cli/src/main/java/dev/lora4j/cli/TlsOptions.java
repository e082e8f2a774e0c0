package dev.lora4j.cli;

import dev.lora4j.api.ClusterOptions;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * Mutual TLS between the nodes of a cluster ({@code sweep --cluster}, {@code worker}): a keystore and a truststore on
 * the command line, their passwords in the environment (a command line is visible to every user of the machine).
 */
final class TlsOptions {
    static final String KEYSTORE_PASSWORD = "LORA4J_TLS_KEYSTORE_PASSWORD";
    static final String TRUSTSTORE_PASSWORD = "LORA4J_TLS_TRUSTSTORE_PASSWORD";

    @Option(names = "--tls-keystore", paramLabel = "FILE", description = "encrypt and authenticate every connection"
            + " between nodes with TLS (mutual): this node's key and certificate (PKCS12 or JKS; password in $"
            + KEYSTORE_PASSWORD + ")")
    Path keyStore;

    @Option(names = "--tls-truststore", paramLabel = "FILE", description = "the certificates of the nodes to trust"
            + " (password in $" + TRUSTSTORE_PASSWORD + ")")
    Path trustStore;

    /** The TLS settings, null for plain TCP; refuses half a setup naming what is missing. */
    ClusterOptions.Tls tls(Map<String, String> env) {
        if (keyStore == null && trustStore == null) {
            return null;
        }
        if (keyStore == null || trustStore == null) {
            throw new IllegalArgumentException("TLS needs both --tls-keystore and --tls-truststore");
        }
        String keyPassword = env.get(KEYSTORE_PASSWORD);
        String trustPassword = env.get(TRUSTSTORE_PASSWORD);
        if (keyPassword == null || trustPassword == null) {
            throw new IllegalArgumentException("TLS: set the keystores' passwords in the environment variables "
                    + KEYSTORE_PASSWORD + " and " + TRUSTSTORE_PASSWORD);
        }
        return new ClusterOptions.Tls(keyStore, keyPassword, trustStore, trustPassword);
    }
}
