package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ValidateCommandTest {
    private static final Path FIXTURES = Path.of(System.getProperty("lora4j.fixtures", "../fixtures"))
            .toAbsolutePath().normalize();
    private static final Path ROOT = FIXTURES.getParent();

    @TempDir Path dir;

    private record Result(int code, String out, String err) {
        List<String> lines() {
            return out.lines().toList();
        }
    }

    private static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    private Path write(String name, String content) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, content);
        return f;
    }

    @Test
    void validFilesPrintOneOkLineEach() {
        String sweep = ROOT.resolve("examples/sweeps/llama-qv-grid.yaml").toString();
        String adapter = FIXTURES.resolve("tiny-llama-s2/adapters/qv").toString();
        String train = ROOT.resolve("examples/train/llama-qv.yaml").toString();
        Result r = run("validate", sweep, adapter, train);
        assertEquals(0, r.code(), r.out() + r.err());
        assertEquals(List.of(
                sweep + ": OK sweep llama-qv-grid: 6 trials (grid over r, lora_alpha), metric eval_loss minimize",
                adapter + ": OK LORA r=4 alpha=8 targets=[q_proj, v_proj] dropout=0.05 task=CAUSAL_LM",
                train + ": OK train llama-qv: LORA r=8 alpha=16 targets=[q_proj, v_proj] dropout=0.05 task=CAUSAL_LM, "
                        + "model ../../fixtures/tiny-llama-s2/model, 40 steps"), r.lines());
        assertEquals("", r.err());
    }

    @Test
    void badFilesPrintTheirErrorsAndExitTwo() throws IOException {
        Path missing = dir.resolve("missing.json");
        Path invalid = write("invalid.json", "{\"r\": 8,\n \"lora_alpha\": }");
        Path lfs = write("lfs.json", "version https://git-lfs.github.com/spec/v1\noid sha256:ab12\nsize 99\n");
        Path mlx = write("adapter_config.json", "{\"fine_tune_type\": \"lora\", \"num_layers\": 16, "
                + "\"lora_parameters\": {\"rank\": 8}}");
        Path ia3 = write("ia3.json", "{\"peft_type\": \"IA3\", \"target_modules\": [\"k\"]}");
        Path empty = Files.createDirectories(dir.resolve("empty-folder"));
        Result r = run("validate", missing.toString(), invalid.toString(), lfs.toString(), mlx.toString(),
                ia3.toString(), empty.toString());
        assertEquals(2, r.code());
        assertEquals(List.of(
                missing + ": no such file",
                invalid + ": invalid JSON at line 2, column 16: Unexpected character ('}' (code 125)): expected a "
                        + "valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false')",
                lfs + ": this is a Git LFS pointer file, not the file's content (sha256:ab12, 99 bytes): fetch the "
                        + "content with `git lfs pull` (or download the file itself)",
                mlx + ": this is an MLX (mlx-lm) adapter config (keys fine_tune_type, lora_parameters, num_layers), not "
                        + "PEFT's: lora4j reads PEFT adapter_config.json files, which have peft_type \"LORA\", r, "
                        + "lora_alpha and target_modules",
                ia3 + ": this is a PEFT IA3 adapter; lora4j reads LORA",
                empty + ": is a folder without an adapter_config.json; pass a config file, or a PEFT adapter folder"),
                r.lines());
        assertEquals("", r.err());
    }

    @Test
    void aSweepWithThreeErrorsReportsAllThree() throws IOException {
        Path sweep = write("sweep.yaml", "name: three\nmodel: " + FIXTURES.resolve("tiny-llama-s2/model") + "\n"
                + "data: {train: " + FIXTURES.resolve("tiny-llama-s2/data.jsonl") + ", eval: "
                + FIXTURES.resolve("tiny-llama-s2/data.jsonl") + "}\n"
                + "training: {learning_rate: 0}\nlora: {lora_dropout: 1.5}\nmethod: grid\n"
                + "parameters:\n  r: {values: [8, 0]}\n");
        Result r = run("validate", sweep.toString());
        assertEquals(2, r.code());
        assertEquals(List.of(
                sweep + ": training.learning_rate: learning_rate must be > 0, got 0",
                sweep + ": lora.lora_dropout: lora_dropout must be >= 0 and < 1, got 1.5",
                sweep + ": parameters.r.values[1]: r must be >= 1, got 0"), r.lines());
    }

    @Test
    void warningsFollowTheOkLine() throws IOException {
        Path f = write("a.json", "{\"peft_type\": \"LORA\", \"r\": 4, \"foobar\": 1}");
        Result r = run("validate", f.toString());
        assertEquals(0, r.code());
        assertEquals(f + ": OK LORA r=4 alpha=8 targets=(architecture default) task=none", r.lines().get(0));
        assertTrue(r.lines().get(1).startsWith(f + ": warning: Unexpected keyword arguments ['foobar'] for class "
                + "LoraConfig, these are ignored."), r.out());
        assertEquals(2, r.lines().size());
    }

    @Test
    void jsonReport() throws IOException {
        Path bad = write("bad.json", "{\"peft_type\": \"LORA\", \"r\": 0, \"lora_alpha\": -1}");
        String good = FIXTURES.resolve("tiny-llama-s2/adapters/dora/adapter_config.json").toString();
        Result r = run("validate", "--json", good, bad.toString());
        assertEquals(2, r.code());
        JsonNode report = new ObjectMapper().readTree(r.out());
        assertEquals(2, report.size());
        JsonNode ok = report.get(0);
        assertEquals(good, ok.get("path").asText());
        assertEquals("adapter", ok.get("kind").asText());
        assertTrue(ok.get("valid").asBoolean());
        assertTrue(ok.get("summary").asText().startsWith("LORA r=4 alpha=4 "));
        assertEquals(0, ok.get("errors").size());
        JsonNode ko = report.get(1);
        assertEquals(false, ko.get("valid").asBoolean());
        assertEquals("lora.r", ko.get("errors").get(0).get("path").asText());
        assertEquals("r must be >= 1, got 0", ko.get("errors").get(0).get("message").asText());
        assertEquals("lora.lora_alpha", ko.get("errors").get(1).get("path").asText());
        assertTrue(ko.get("warnings").isArray());
    }

    @Test
    void helpUsageErrorsAndMainRun() {
        Result help = run("validate", "--help");
        assertEquals(0, help.code());
        assertTrue(help.out().startsWith("Usage: lora4j validate [-hV] [--json] PATH..."), help.out());
        assertTrue(help.out().contains("Exit codes:"), help.out());
        Result top = run("--help");
        assertTrue(top.out().contains("validate"), top.out());
        Result unknown = run("validate", "--frobnicate", "x");
        assertEquals(2, unknown.code());
        assertTrue(unknown.err().contains("Unknown option: '--frobnicate'"), unknown.err());
        assertEquals(2, run("validate").code());

        PrintStream saved = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            assertEquals(2, Main.run("validate", dir.resolve("nothing.yaml").toString()));
        } finally {
            System.setOut(saved);
        }
        assertEquals(dir.resolve("nothing.yaml") + ": no such file" + System.lineSeparator(),
                captured.toString(StandardCharsets.UTF_8));
    }
}
