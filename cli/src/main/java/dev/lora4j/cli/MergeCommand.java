package dev.lora4j.cli;

import dev.lora4j.api.Engine;
import dev.lora4j.lora.MergedModels;
import dev.lora4j.model.Builtins;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lora4j merge}: PEFT's merge_and_unload, written as a plain Hugging Face model folder. */
@Command(name = "merge", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Merges a PEFT adapter into its base model and writes a Hugging Face folder.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:written", "2:a file is missing or invalid, --out is not a folder a merge may write, or the"
                + " merge would not be finite"})
public final class MergeCommand implements Callable<Integer> {
    @Mixin ModelOptions model;

    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "PEFT adapter folder")
    Path adapter;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Folder for the merged model: new or"
            + " empty, never the model's or the adapter's folder")
    Path out;

    @Option(names = "--force", description = "Write into a non-empty --out: replaces config.json, model.safetensors"
            + " and the tokenizer files, keeps everything else")
    boolean force;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        // refused before the model is loaded, naming the options the user typed
        MergedModels.checkOut(Builtins.resolve(model.model), adapter, out, force, "--out", "--force");
        PrintWriter err = spec.commandLine().getErr();
        Engine.merge(Engine.Merge.of(model.model, adapter, out).withTask(model.task()).onDevice(model.device)
                .withForce(force), w -> {
                    err.println("lora4j: warning: " + w);
                    err.flush();
                });
        spec.commandLine().getOut().println("merged model written to " + out);
        spec.commandLine().getOut().flush();
        return 0;
    }
}
