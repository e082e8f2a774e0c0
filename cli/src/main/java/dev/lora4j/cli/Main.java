package dev.lora4j.cli;

import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine;

/** The {@code lora4j} launcher: one picocli command per job. */
@Command(
        name = "lora4j",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "PEFT-exact LoRA fine-tuning and sweeps on the JVM.",
        subcommands = {ValidateCommand.class, InspectCommand.class, EvalCommand.class, MergeCommand.class, TrainCommand.class, SweepCommand.class,
            WorkerCommand.class, ReportCommand.class, ServeCommand.class, EstimateCommand.class,
            CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        // SLF4J initialises on first use; when trainer lanes log first, at once, it prints a "replay" warning
        LoggerFactory.getILoggerFactory();
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code (tests call this instead of {@link #main}). */
    public static int run(String... args) {
        return commandLine().execute(args);
    }

    /** The configured command line, for callers that set their own output writers. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        // a mistyped command line (an unknown option, a value that is not a number) is one line too, not the usage
        cl.setParameterExceptionHandler((e, args) -> {
            CommandLine.Model.CommandSpec c = e.getCommandLine().getCommandSpec();
            String message = String.valueOf(e.getMessage()).replaceAll("\\s*\\R\\s*", " ").strip();
            e.getCommandLine().getErr().println("lora4j: " + message + " (" + c.qualifiedName()
                    + " --help lists the options)");
            return Failures.BAD_INPUT;
        });
        // a failure inside a command is reported in one line; stack traces are for bug reports, not users
        cl.setExecutionExceptionHandler((e, line, parsed) -> {
            if (Failures.isBadInput(e)) {
                line.getErr().println("lora4j: " + Failures.message(e));
                return Failures.BAD_INPUT;
            }
            line.getErr().println("lora4j: internal error (please report it): " + e);
            return Failures.INTERNAL;
        });
        return cl;
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
