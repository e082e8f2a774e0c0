package dev.lora4j.cli;

import dev.lora4j.api.Dashboard;
import dev.lora4j.api.Lora4j;
import dev.lora4j.dashboard.DashboardToken;
import dev.lora4j.report.SweepFolder;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code lora4j serve RUN_DIR}: the live dashboard of a run folder, read from its files (read-only: the sweep, if one
 * still runs, belongs to another process, which stops trials with its own {@code --serve}).
 */
@Command(name = "serve", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = {"Serves a sweep's run folder as the live dashboard (read-only), until Ctrl-C.",
            "Every request needs the run's token: open the URL printed once (it is also in RUN_DIR/.dashboard-token)."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:stopped with Ctrl-C", "2:the folder holds no sweep, or the port cannot be used"})
public final class ServeCommand implements Callable<Integer> {
    static final int DEFAULT_PORT = 8765;

    @Parameters(paramLabel = "RUN_DIR", description = "a sweep's run folder (e.g. runs/<name>)")
    Path dir;

    @Option(names = "--port", paramLabel = "P", description = "the port (default: " + DEFAULT_PORT
            + "; 0: any free one)")
    int port = DEFAULT_PORT;

    @Option(names = "--bind", paramLabel = "HOST", description = "the address to listen on (default: "
            + DashboardAddress.DEFAULT_HOST + ", this machine only)")
    String bind = DashboardAddress.DEFAULT_HOST;

    @Spec CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
        if (!Files.isRegularFile(dir.resolve(SweepFolder.SPEC))) {
            throw new IllegalArgumentException(dir + ": not a sweep's run folder (no " + SweepFolder.SPEC + ")");
        }
        DashboardAddress at = DashboardAddress.of(port != DEFAULT_PORT ? "--port" : "--bind", bind, port);
        PrintWriter out = spec.commandLine().getOut();
        try (Lora4j lora4j = Lora4j.create()) {
            Dashboard d = DashboardAddress.await("--port", at, lora4j.serve(dir, at.host(), at.port()));
            out.println("lora4j: dashboard of " + dir + " (read-only) at " + d.url());
            out.println("lora4j: the token is also in " + dir.resolve(DashboardToken.FILE) + "; Ctrl-C stops serving");
            out.flush();
            CountDownLatch stop = new CountDownLatch(1);
            Interrupts.onCtrlC(stop::countDown);
            stop.await();
            d.close();
        }
        return 0;
    }
}
