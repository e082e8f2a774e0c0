package dev.lora4j.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * report.html in a real browser: Debian's headless Chromium, driven by its command line alone (no driver to
 * download). Skipped where {@code /usr/bin/chromium} (or {@code -Dlora4j.chromium=PATH}) is not installed; CI
 * installs it.
 */
class ReportInChromiumTest {
    static final Path CHROMIUM = Path.of(System.getProperty("lora4j.chromium", "/usr/bin/chromium"));
    /** What Chromium logs (with --enable-logging=stderr) for the page's console messages and uncaught errors. */
    static final Pattern CONSOLE = Pattern.compile("CONSOLE|Uncaught");

    @TempDir Path dir;

    /** Per test rather than per class, so that the build output counts the tests as skipped. */
    @BeforeEach
    void needsChromium() {
        assumeTrue(Files.isExecutable(CHROMIUM), "no " + CHROMIUM + " here (CI installs it: .ci/run)");
    }

    @Test
    void rendersEveryChartWithoutConsoleErrors() throws Exception {
        Path page = HtmlReport.write(dir, SampleRun.write(dir));
        Path png = dir.resolve("report.png");
        Browser run = open(page, png);

        assertEquals(List.of(), run.console(), "the page logs nothing and throws nothing");
        String dom = run.dom();
        assertTrue(dom.contains("data-rendered=\"true\""), "the page's script ran to its end");
        assertEquals(3, count(chart(dom, "loss-curves"), "class=\"curve\""));
        assertEquals(2, count(chart(dom, "metric-curves"), "class=\"curve\""));
        assertEquals(2, count(chart(dom, "param-lora.r"), "class=\"point\""));
        assertEquals(3, count(chart(dom, "parallel-coordinates"), "data-trial="));
        assertEquals(3, count(dom.substring(dom.indexOf("<table id=\"leaderboard\"")), "<tr id=\"trial-"));
        assertFalse(dom.contains("<script>alert"), "the hostile trial name stayed text");

        BufferedImage image = ImageIO.read(png.toFile());
        assertEquals(1200, image.getWidth());
        assertTrue(Files.size(png) > 20_000, "a page of charts, not a blank screen: " + Files.size(png));
        assertTrue(colours(image) > 50, "coloured curves and text were painted");
    }

    /** The check above is only worth something if a broken page fails it. */
    @Test
    void seesAPageThatThrows() throws Exception {
        Path page = dir.resolve("broken.html");
        Files.writeString(page, "<!DOCTYPE html><html><body><p>x</p><script>undefinedFunction();</script>"
                + "</body></html>", StandardCharsets.UTF_8);
        List<String> console = open(page, null).console();
        assertTrue(console.stream().anyMatch(l -> l.contains("undefinedFunction")), String.join("\n", console));
    }

    record Browser(String dom, List<String> console) {}

    /** Loads the page once: the DOM after its scripts ran, what it logged, and (if asked) a screenshot. */
    private Browser open(Path page, Path png) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(CHROMIUM.toString(), "--headless", "--no-sandbox",
                "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-extensions", "--hide-scrollbars",
                "--user-data-dir=" + Files.createTempDirectory(dir, "profile"), "--enable-logging=stderr",
                "--v=0", "--window-size=1200,1800", "--dump-dom"));
        if (png != null) {
            command.add("--screenshot=" + png);
        }
        command.add(page.toUri().toString());
        Path out = dir.resolve("stdout.txt");
        Path err = dir.resolve("stderr.txt");
        Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("chromium did not finish within 60 s:\n" + Files.readString(err));
        }
        String log = Files.readString(err, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), log);
        List<String> console = log.lines().filter(l -> CONSOLE.matcher(l).find()).toList();
        return new Browser(Files.readString(out, StandardCharsets.UTF_8), console);
    }

    private static String chart(String dom, String id) {
        int start = dom.indexOf("<svg class=\"chart\" id=\"" + id + "\"");
        assertTrue(start >= 0, "chart " + id + " in the rendered page");
        return dom.substring(start, dom.indexOf("</svg>", start));
    }

    private static int count(String text, String needle) {
        Matcher m = Pattern.compile(Pattern.quote(needle)).matcher(text);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }

    private static int colours(BufferedImage image) {
        Set<Integer> seen = new HashSet<>();
        for (int y = 0; y < image.getHeight(); y += 3) {
            for (int x = 0; x < image.getWidth(); x += 3) {
                seen.add(image.getRGB(x, y));
            }
        }
        return seen.size();
    }
}
