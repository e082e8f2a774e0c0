package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code sweep --serve} and {@code serve RUN_DIR}: bad addresses and busy ports are bad input; a served sweep runs. */
class DashboardCliTest {
    @TempDir Path tmp;

    @Test
    void aBadServeAddressIsRefusedBeforeAnythingRuns() throws Exception {
        Path spec = SweepEndToEndTest.sweepFile(tmp, "bad-serve", 2, "");
        Path run = tmp.resolve("run");
        for (String bad : new String[] {"abc", "70000", "127.0.0.1:99999", "host:port", ":80x"}) {
            BadInput.assertRefused(Cli.run("sweep", spec, "--out", run, "--serve", bad), 2, "--serve");
        }
        assertFalse(Files.exists(run), "nothing was written");
    }

    @Test
    void aBusyPortIsBadInputNamingTheOption() throws Exception {
        Path spec = SweepEndToEndTest.sweepFile(tmp, "busy", 2, "");
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            int port = taken.getLocalPort();
            Path run = tmp.resolve("run");
            BadInput.assertRefused(Cli.run("sweep", spec, "--out", run, "--serve", Integer.toString(port)), 2,
                    "--serve", "cannot listen on 127.0.0.1:" + port);
            assertFalse(Files.exists(run.resolve("trials")), "no trial started");
            Files.createDirectories(tmp.resolve("done"));
            Files.writeString(tmp.resolve("done/sweep.yaml"), "name: done\n");
            BadInput.assertRefused(Cli.run("serve", tmp.resolve("done"), "--port", port), 2, "--port",
                    "cannot listen on 127.0.0.1:" + port);
        }
        BadInput.assertRefused(Cli.run("serve", tmp.resolve("done"), "--port", 70000), 2, "--port", "0 to 65535");
        BadInput.assertRefused(Cli.run("serve", tmp, "--port", 0), 2, "not a sweep's run folder");
    }

    @Test
    void aServedSweepPrintsItsAddressOnceAndKeepsTheTokenPrivate() throws Exception {
        Path spec = SweepEndToEndTest.sweepFile(tmp, "served", 4, "");
        Path run = tmp.resolve("run");
        Cli.Result r = Cli.run("sweep", spec, "--out", run, "--cpu-lanes", 2, "--serve", "127.0.0.1:0");
        assertEquals(0, r.code(), r.toString());
        String token = Files.readString(run.resolve(".dashboard-token")).strip();
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(
                run.resolve(".dashboard-token"))));
        Matcher m = Pattern.compile("dashboard: http://127\\.0\\.0\\.1:\\d+/\\?token=([A-Za-z0-9_-]+)").matcher(r.out());
        assertTrue(m.find(), r.out());
        assertEquals(token, m.group(1));
        assertFalse(m.find(), "printed once");
        assertTrue(Files.isRegularFile(run.resolve("report.html")));
    }
}
