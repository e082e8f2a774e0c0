package dev.lora4j.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.lora4j.actors.FakeRuns;
import dev.lora4j.sweep.SweepSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The live page of a running sweep in Debian's headless Chromium, driven by Selenium through Debian's chromedriver
 * (both named explicitly, so Selenium Manager never downloads anything): trials appear, their curves grow, the stop
 * button of one trial ends it as stopped, and the final leaderboard on the page is leaderboard.csv's. Skipped where
 * {@code /usr/bin/chromium} or {@code /usr/bin/chromedriver} is missing (CI installs both: .ci/run).
 */
class DashboardInChromiumTest {
    static final Path CHROMIUM = Path.of(System.getProperty("lora4j.chromium", "/usr/bin/chromium"));
    static final Path CHROMEDRIVER = Path.of(System.getProperty("lora4j.chromedriver", "/usr/bin/chromedriver"));

    private static WebDriver chromium(Path profile) {
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--user-data-dir=" + profile, "--window-size=1280,2000");
        LoggingPreferences logs = new LoggingPreferences();
        logs.enable(LogType.BROWSER, Level.ALL);
        options.setCapability("goog:loggingPrefs", logs);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().build();
        return new ChromeDriver(service, options);
    }

    /** Read in one script: the page swaps its charts while steps arrive, so an element found may be gone at once. */
    private static int points(WebDriver driver, String trialId) {
        Object n = ((JavascriptExecutor) driver).executeScript("var c = document.querySelector("
                + "\"svg#loss-curves path.curve[data-trial='\" + arguments[0] + \"']\");"
                + " return c === null ? 0 : Number(c.getAttribute('data-points'));", trialId);
        return ((Number) n).intValue();
    }

    @Test
    void thePageOfARunningSweepGrowsStopsATrialAndEndsWithTheLeaderboard(@TempDir Path tmp) throws Exception {
        assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER), "no " + CHROMIUM + " or "
                + CHROMEDRIVER + " here (Debian's chromium and chromium-driver; CI installs them: .ci/run)");
        System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
        FakeRuns runs = new FakeRuns().stepMillis(40);
        SweepSpec spec = Fakes.sweep("live", 150, 10, 10).grid("r", 2, 4, 8).devices("cpu").build();
        Path run = tmp.resolve("run");
        try (Lora4j lora4j = Lora4j.create(Fakes.parts(runs))) {
            SweepHandle h = lora4j.sweep(spec, SweepOptions.in(run).withCpu(2, 1)).start();
            Dashboard d = h.serve("127.0.0.1", 0).toCompletableFuture().get(30, TimeUnit.SECONDS);
            WebDriver driver = chromium(tmp.resolve("profile"));
            try {
                WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(90), Duration.ofMillis(50));
                driver.get(d.url());
                assertFalse(driver.getCurrentUrl().contains("token="), "the token left the address bar");
                wait.until(x -> "true".equals(x.findElement(By.tagName("body")).getAttribute("data-connected")));

                // trials appear, then one runs and its loss curve grows as steps arrive
                wait.until(x -> x.findElements(By.cssSelector("#live-trials tbody tr")).size() == 3);
                String id = wait.until(x -> x.findElements(By.cssSelector("#live-trials tbody tr[data-state='running']"))
                        .stream().map(e -> e.getAttribute("data-trial")).findFirst().orElse(null));
                int seen = wait.until(x -> points(x, id) >= 3 ? points(x, id) : null);
                wait.until(x -> points(x, id) > seen);
                assertFalse(driver.findElement(By.cssSelector("#lanes")).getText().contains("no trial is training"));
                assertTrue(driver.findElement(By.id("throughput")).getText().contains("steps/s"));

                driver.findElement(By.cssSelector("#live-trials button.stop[data-trial='" + id + "']")).click();
                wait.until(x -> "stopped".equals(x.findElement(By.cssSelector("#live-trials tr[data-trial='" + id
                        + "']")).getAttribute("data-state")));
                assertEquals("stopped by the user", driver.findElement(By.cssSelector("#live-trials tr[data-trial='"
                        + id + "'] td.why")).getText());
                assertTrue(driver.findElement(By.id("incidents")).getText().contains("stopped by the user"));

                // the sweep ends by itself; the page's last rendering is the final leaderboard
                h.report().toCompletableFuture().get(2, TimeUnit.MINUTES);
                wait.until(x -> "true".equals(x.findElement(By.tagName("body")).getAttribute("data-final")));
                @SuppressWarnings("unchecked")
                List<String> page = (List<String>) ((JavascriptExecutor) driver).executeScript("return Array.from("
                        + "document.querySelectorAll('table#leaderboard tbody tr')).map(function (r) {"
                        + " return r.getAttribute('data-trial') + ',' + r.querySelector('span.status').textContent; });");
                assertEquals(leaderboardCsv(run), page, "the page's final leaderboard is leaderboard.csv's");
                assertTrue(page.contains(id + ",stopped"), page.toString());
                assertTrue(driver.findElement(By.id("sweep-state")).getText().startsWith("finished"));

                // the markup's colours survive the policy that forbids inline style (the script sets them)
                String swatch = driver.findElement(By.cssSelector("#legend .swatch")).getCssValue("background-color");
                assertNotEquals("rgba(0, 0, 0, 0)", swatch);
                List<String> problems = new ArrayList<>();
                for (LogEntry e : driver.manage().logs().get(LogType.BROWSER)) {
                    if (e.getLevel().intValue() >= Level.WARNING.intValue() && !e.getMessage().contains("favicon")
                            && !e.getMessage().contains("api/events")) {
                        problems.add(e.getMessage());
                    }
                }
                assertEquals(List.of(), problems, "the console stays clean (no policy violation, no error)");
            } finally {
                driver.quit();
            }
        }
    }

    /** leaderboard.csv as {@code trial_id,status} rows, in its order. */
    private static List<String> leaderboardCsv(Path run) throws Exception {
        List<String> lines = Files.readAllLines(run.resolve("leaderboard.csv"));
        List<String> header = List.of(lines.get(0).split(",", -1));
        int id = header.indexOf("trial_id");
        int status = header.indexOf("status");
        List<String> out = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] cells = line.split(",", -1);
            out.add(cells[id] + "," + cells[status]);
        }
        return out;
    }

}
