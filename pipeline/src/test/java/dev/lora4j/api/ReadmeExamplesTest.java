package dev.lora4j.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's Java blocks, taken from README.md itself so they cannot drift: each compiles as written against the
 * build, and runs to exit code 0 from a folder laid out like the repository's root.
 */
class ReadmeExamplesTest {
    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    static final Pattern BLOCK = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL);
    static final Pattern CLASS = Pattern.compile("public class (\\w+)");

    record Example(String name, String source) {}

    /** What each program prints, in part (the dora adapter's reference loss is the fixture's). */
    static final java.util.Map<String, String> EXPECTED = java.util.Map.of("SweepExample", "best: r",
            "PipelineExample", "lr5e-3 ", "EvaluateExample", "eval_loss 5.0204");

    static List<Example> examples() throws IOException {
        List<Example> out = new ArrayList<>();
        Matcher m = BLOCK.matcher(Files.readString(ROOT.resolve("README.md")));
        while (m.find()) {
            Matcher c = CLASS.matcher(m.group(1));
            assertTrue(c.find(), "every Java block of the README is a complete program:\n" + m.group(1));
            out.add(new Example(c.group(1), m.group(1)));
        }
        return out;
    }

    @Test
    void theReadmeProgramsCompileAndRunAsWritten(@TempDir Path tmp) throws Exception {
        List<Example> examples = examples();
        assertEquals(3, examples.size(), "the README's Java blocks");
        Path src = Files.createDirectories(tmp.resolve("src"));
        Path classes = Files.createDirectories(tmp.resolve("classes"));
        List<String> files = new ArrayList<>();
        for (Example e : examples) {
            Path f = src.resolve(e.name() + ".java");
            Files.writeString(f, e.source());
            files.add(f.toString());
        }
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        List<String> args = new ArrayList<>(List.of("-d", classes.toString(), "-cp",
                System.getProperty("java.class.path"), "-Xlint:all", "-Werror"));
        args.addAll(files);
        assertEquals(0, javac.run(null, null, null, args.toArray(String[]::new)), "the README's Java compiles");

        // run from a folder laid out like the repository's root, so runs/ lands in the temporary folder
        Path root = Files.createDirectories(tmp.resolve("root"));
        Files.createSymbolicLink(root.resolve("examples"), ROOT.resolve("examples"));
        Files.createSymbolicLink(root.resolve("fixtures"), ROOT.resolve("fixtures"));
        for (Example e : examples) {
            Path log = tmp.resolve(e.name() + ".log");
            Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                    classes + java.io.File.pathSeparator + System.getProperty("java.class.path"),
                    "-Dai.djl.pytorch.num_threads=1", e.name())
                    .directory(root.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            assertTrue(p.waitFor(5, TimeUnit.MINUTES), e.name() + " ended");
            String out = Files.readString(log);
            assertEquals(0, p.exitValue(), e.name() + ":\n" + out);
            assertTrue(out.contains(EXPECTED.getOrDefault(e.name(), "")), e.name() + " printed its result:\n" + out);
        }
    }

    @Test
    void theClusterGuidesJavaCompilesAsWritten(@TempDir Path tmp) throws Exception {
        Matcher m = BLOCK.matcher(Files.readString(ROOT.resolve("docs/cluster.md")));
        assertTrue(m.find(), "docs/cluster.md shows the Java API");
        // a fragment: it compiles as the body of a method, with the API's imports
        Path f = Files.createDirectories(tmp.resolve("src")).resolve("ClusterGuide.java");
        Files.writeString(f, "import dev.lora4j.api.*;\nimport java.nio.file.Path;\n"
                + "public class ClusterGuide {\n    static void run() throws Exception {\n" + m.group(1) + "    }\n}\n");
        List<String> args = List.of("-d", Files.createDirectories(tmp.resolve("classes")).toString(), "-cp",
                System.getProperty("java.class.path"), "-Xlint:all", "-Werror", f.toString());
        assertEquals(0, ToolProvider.getSystemJavaCompiler().run(null, null, null, args.toArray(String[]::new)),
                "docs/cluster.md's Java compiles");
    }
}
