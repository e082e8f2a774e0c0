package dev.lora4j.cli;

import dev.lora4j.report.HtmlReport;
import dev.lora4j.report.SweepFolder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code lora4j report RUN_DIR}: writes a sweep's {@code report.html} again from its run folder alone, e.g. after
 * an interrupted sweep or for a folder copied from another machine.
 */
@Command(name = "report", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Rebuilds report.html in a sweep's run folder from its files (leaderboard.csv, sweep.yaml,"
                + " trials/*/params.json, result.json, progress.csv).",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:the report was written", "2:the folder holds no sweep"})
public final class ReportCommand implements Callable<Integer> {
    @Parameters(paramLabel = "RUN_DIR", description = "a sweep's run folder (e.g. runs/<name>)")
    Path dir;

    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        if (!Files.isRegularFile(dir.resolve(SweepFolder.LEADERBOARD)) && !Files.isDirectory(dir.resolve("trials"))) {
            throw new IllegalArgumentException(dir + ": not a sweep's run folder (no leaderboard.csv, no trials/)");
        }
        spec.commandLine().getOut().println(HtmlReport.write(dir));
        return 0;
    }
}
