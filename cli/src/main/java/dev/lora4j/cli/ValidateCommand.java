package dev.lora4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.config.ConfigError;
import dev.lora4j.files.ConfigFiles;
import dev.lora4j.files.FileKind;
import dev.lora4j.files.FileReport;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code lora4j validate PATH...}: checks each file and prints one line per result. Other tools parse this output
 * (and {@code --json}), so its shape is a contract: {@code PATH: OK SUMMARY}, {@code PATH: warning: TEXT},
 * {@code PATH: FIELD: MESSAGE}.
 */
@Command(
        name = "validate",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {
            "Checks PEFT adapter configs, lora4j sweep files and training configs, reporting every problem at once.",
            "",
            "A file is recognised by its content: peft_type/r/target_modules make a PEFT adapter config, "
                    + "parameters/method a sweep, model/data/training/lora a training config. A folder stands for "
                    + "the adapter_config.json inside it."
        },
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:every file is valid", "2:a file is invalid or unreadable, or the command line is wrong"})
public final class ValidateCommand implements Callable<Integer> {
    static final int INVALID = 2;

    @Parameters(arity = "1..*", paramLabel = "PATH",
            description = "adapter_config.json, a folder holding one, a sweep file or a training config (JSON or YAML)")
    List<String> paths = new ArrayList<>();

    @Option(names = "--json",
            description = "Print one JSON report (an array with one object per file) instead of lines.")
    boolean json;

    @Spec CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        List<FileReport> reports = new ArrayList<>();
        for (String p : paths) {
            reports.add(check(p));
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(toJson(reports));
        } else {
            reports.forEach(r -> print(r, out));
        }
        out.flush();
        return reports.stream().allMatch(FileReport::valid) ? 0 : INVALID;
    }

    /** A bug in a checker must not turn into a stack trace: it becomes an error line about that file. */
    private static FileReport check(String path) {
        try {
            return ConfigFiles.check(path);
        } catch (RuntimeException e) {
            return new FileReport(path, FileKind.UNKNOWN, "", List.of(ConfigError.ofFile("internal error while "
                    + "checking this file (please report it): " + e)), List.of());
        }
    }

    private static void print(FileReport r, PrintWriter out) {
        if (r.valid()) {
            out.println(r.path() + ": OK " + r.summary());
        }
        for (ConfigError e : r.errors()) {
            out.println(r.path() + ": " + e);
        }
        for (String w : r.warnings()) {
            out.println(r.path() + ": warning: " + w);
        }
    }

    private static String toJson(List<FileReport> reports) throws Exception {
        ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ArrayNode a = m.createArrayNode();
        for (FileReport r : reports) {
            ObjectNode o = a.addObject();
            o.put("path", r.path());
            o.put("kind", r.kind().json());
            o.put("valid", r.valid());
            o.put("summary", r.summary());
            ArrayNode errors = o.putArray("errors");
            r.errors().forEach(e -> errors.addObject().put("path", e.path()).put("message", e.message()));
            ArrayNode warnings = o.putArray("warnings");
            r.warnings().forEach(warnings::add);
        }
        return m.writeValueAsString(a);
    }
}
