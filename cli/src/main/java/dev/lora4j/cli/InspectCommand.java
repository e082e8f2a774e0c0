package dev.lora4j.cli;

import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.Numbers;
import dev.lora4j.config.TaskType;
import dev.lora4j.config.LoraConfigJson;
import dev.lora4j.config.TargetModules;
import dev.lora4j.lora.PeftAdapters;
import dev.lora4j.lora.TargetMatcher;
import dev.lora4j.model.Builtins;
import dev.lora4j.model.HfModels;
import dev.lora4j.model.HfConfig;
import dev.lora4j.model.ModuleNode;
import dev.lora4j.model.ModuleTree;
import dev.lora4j.safetensors.SafetensorsCheckpoint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lora4j inspect}: the module tree of a model and which modules a target spec (or an adapter config)
 * selects, without loading any weights; or what a PEFT adapter file holds, without its base model.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = {"Shows a model's modules and which ones LoRA would wrap, or the contents of a PEFT adapter.",
            "",
            "Examples:",
            "  lora4j inspect --model DIR",
            "  lora4j inspect --model DIR --targets q_proj,v_proj",
            "  lora4j inspect --model DIR --targets all-linear",
            "  lora4j inspect --model DIR --targets-regex '.*\\.layers\\.0\\..*_proj'",
            "  lora4j inspect --model DIR --lora adapter_config.json",
            "  lora4j inspect --adapter adapter_model.safetensors"},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:done", "2:a file is missing or invalid, or the spec matches nothing"})
public final class InspectCommand implements Callable<Integer> {

    @Option(names = "--model", paramLabel = "DIR", description = "Hugging Face model folder, or builtin:NAME")
    String model;

    @Option(names = "--task", paramLabel = "TASK", description = "Model head (CAUSAL_LM, SEQ_CLS, FEATURE_EXTRACTION)")
    String task;

    @ArgGroup(exclusive = true)
    TargetSpec spec;

    static final class TargetSpec {
        @Option(names = "--targets", paramLabel = "NAMES",
                description = "Comma-separated module names (exact key or dot-bounded suffix), or all-linear")
        String names;

        @Option(names = "--targets-regex", paramLabel = "REGEX", description = "A regex matched against whole keys")
        String regex;

        @Option(names = "--lora", paramLabel = "FILE", description = "An adapter_config.json (or its folder)")
        Path lora;
    }

    @Option(names = "--adapter", paramLabel = "PATH",
            description = "A PEFT adapter folder or adapter_model.safetensors: list its modules, ranks and shapes")
    Path adapter;

    @Spec CommandSpec command;

    @Override
    public Integer call() {
        PrintWriter out = command.commandLine().getOut();
        if (adapter != null) {
            printAdapter(out, PeftAdapters.inspect(adapter));
        }
        if (model != null) {
            Path folder = Builtins.resolve(model);
            HfConfig config = readConfig(folder);
            ModuleTree tree = HfModels.architecture(config, task == null ? null
                    : TaskType.parse(task).orElseThrow(() -> new IllegalArgumentException(
                            "--task " + task + ": expected one of " + TaskType.allowed())),
                    weightNames(folder)).tree();
            if (spec == null) {
                printTree(out, tree);
            } else {
                printSelection(out, tree, specConfig());
            }
        }
        if (adapter == null && model == null) {
            throw new IllegalArgumentException("give --model DIR and/or --adapter PATH (see --help)");
        }
        out.flush();
        return 0;
    }

    private static HfConfig readConfig(Path dir) {
        try {
            return HfConfig.read(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Tensor names only, to decide tied heads; the weights are never loaded. */
    private static Set<String> weightNames(Path dir) {
        try (var src = SafetensorsCheckpoint.open(dir)) {
            return Set.copyOf(src.names());
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": " + e.getMessage(), e);
        }
    }

    private LoraConfig specConfig() {
        if (spec.lora != null) {
            return LoraConfigJson.load(spec.lora).value();
        }
        TargetModules t = spec.regex != null ? new TargetModules.Regex(spec.regex)
                : spec.names.equalsIgnoreCase("all-linear") ? new TargetModules.AllLinear(spec.names)
                : new TargetModules.Names(List.of(spec.names.split("\\s*,\\s*")));
        return LoraConfig.builder().targetModules(t).build();
    }

    static void printTree(PrintWriter out, ModuleTree tree) {
        for (ModuleNode n : tree.nodes()) {
            int depth = n.path().split("\\.").length - 1;
            out.println("  ".repeat(depth) + n.path() + "  " + n.describe());
        }
        out.println(tree.nodes().size() + " modules, " + tree.linears().size() + " linear");
    }

    static void printSelection(PrintWriter out, ModuleTree tree, LoraConfig config) {
        TargetMatcher.Selection s = TargetMatcher.select(config, tree);
        LoraConfig c = s.config();
        for (ModuleNode n : s.targeted()) {
            out.printf("  %s  %s  r=%d alpha=%s scaling=%s%n", n.path(), n.describe(), c.rankFor(n.path()),
                    Numbers.format(c.alphaFor(n.path())),
                    Numbers.format(c.scalingFor(n.path())));
        }
        Set<String> names = s.targeted().stream().map(ModuleNode::name).collect(Collectors.toCollection(
                LinkedHashSet::new));
        out.println(s.targeted().size() + " of " + tree.linears().size() + " linear modules targeted " + names
                + " (target_modules resolves to " + c.targetModules().map(TargetModules::describe).orElse("none") + ")");
        s.warnings().forEach(w -> out.println("warning: " + w));
    }

    static void printAdapter(PrintWriter out, PeftAdapters.Summary s) {
        out.println(s.file() + ":");
        for (PeftAdapters.ModuleSummary m : s.modules()) {
            out.printf("  %s  r=%d in=%d out=%d %s%s%s%s%n", m.module(), m.rank(), m.in(), m.out(), m.dtype(),
                    m.dora() ? " dora" : "", m.loraBias() ? " lora_bias" : "", m.embedding() ? " embedding" : "");
        }
        for (String f : s.fullTensors()) {
            out.println("  " + f + "  (full tensor: modules_to_save or trainable bias)");
        }
        for (String o : s.other()) {
            out.println("  " + o + "  (not a LoRA tensor)");
        }
        Set<String> names = s.modules().stream().map(m -> m.module().substring(m.module().lastIndexOf('.') + 1))
                .collect(Collectors.toCollection(LinkedHashSet::new));
        out.println(s.modules().size() + " adapted modules " + names + ", ranks " + s.ranks());
        if (Files.isRegularFile(s.file().resolveSibling(PeftAdapters.CONFIG))) {
            out.println("config: " + LoraConfigJson.read(s.file().resolveSibling(PeftAdapters.CONFIG)).value()
                    .summary());
        }
    }
}
