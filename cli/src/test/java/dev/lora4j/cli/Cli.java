package dev.lora4j.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine;

/** Runs the CLI in-process with captured output, as a user's shell would see it. */
final class Cli {
    static final Path FIXTURES = Path.of(System.getProperty("lora4j.fixtures", "../fixtures")).toAbsolutePath()
            .normalize();
    static final Path ROOT = FIXTURES.getParent();

    record Result(int code, String out, String err) {
        List<String> lines() {
            return out.lines().toList();
        }

        @Override
        public String toString() {
            return "exit " + code + "\n--- out\n" + out + "--- err\n" + err;
        }
    }

    private Cli() {}

    /** The CLI in a JVM of its own (for signals, kills and a second process), its output in {@code log}. */
    static Process spawn(java.nio.file.Path log, Object... args) throws java.io.IOException {
        List<String> cmd = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-cp", System.getProperty("java.class.path"), "-Dai.djl.offline=true",
                "-Dai.djl.pytorch.num_threads=1", Main.class.getName()));
        for (Object a : args) {
            cmd.add(String.valueOf(a));
        }
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    static Result run(Object... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        String[] a = new String[args.length];
        for (int i = 0; i < args.length; i++) {
            a[i] = String.valueOf(args[i]);
        }
        int code = cl.execute(a);
        return new Result(code, out.toString(), err.toString());
    }
}
