package dev.lora4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code lora4j} launcher: one picocli command per job. */
@Command(
        name = "lora4j",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "PEFT-exact LoRA fine-tuning and sweeps on the JVM.",
        subcommands = {CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code (tests call this instead of {@link #main}). */
    public static int run(String... args) {
        return new CommandLine(new Main()).execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
