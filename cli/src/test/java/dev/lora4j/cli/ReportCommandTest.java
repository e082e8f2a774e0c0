package dev.lora4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code lora4j report RUN_DIR} rebuilds report.html from the folder's files. */
class ReportCommandTest {
    @TempDir Path dir;

    private int run(StringWriter out, StringWriter err, String... args) {
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(args);
    }

    @Test
    void rebuildsTheReportOfARunFolder() throws Exception {
        Files.writeString(dir.resolve("sweep.yaml"), "name: grid\nmetric: {name: eval_accuracy, goal: maximize}\n");
        Files.writeString(dir.resolve("leaderboard.csv"), """
                rank,trial_id,name,status,lora.r,eval_accuracy,steps,time_s,adapter,reason
                1,b,r8,finished,8,0.95,50,70.1,,
                2,a,r4,finished,4,0.94,50,66.7,,
                ,c,r16,failed,16,,3,1.0,,"out of memory, at step 3"
                """);
        Files.createDirectories(dir.resolve("trials/a"));
        Files.writeString(dir.resolve("trials/a/progress.csv"), """
                step,epoch,loss,learning_rate,grad_norm,tokens_per_s,examples_per_s,peak_rss_mb,elapsed_s,eval_loss,eval_accuracy,eval_perplexity
                1,0.1,0.7,0.001,0.5,100,10,300,1.0,,,
                2,0.2,0.6,0.001,0.5,100,10,300,2.0,,,
                2,0.2,,,,,,,,0.3,0.94,
                """);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        assertEquals(0, run(out, err, "report", dir.toString()), err.toString());
        Path page = dir.resolve("report.html");
        assertEquals(page.toString(), out.toString().strip());
        String html = Files.readString(page, StandardCharsets.UTF_8);
        assertTrue(html.contains("<h1>grid</h1>"));
        assertTrue(html.contains("higher is better"));
        assertTrue(html.contains("out of memory, at step 3"));
        assertTrue(html.indexOf("id=\"trial-b\"") < html.indexOf("id=\"trial-a\""), "ranked as the leaderboard");
        assertTrue(html.contains("class=\"curve\" data-trial=\"a\" data-points=\"2\""), html);
    }

    @Test
    void refusesAFolderWithoutASweep() {
        StringWriter err = new StringWriter();
        assertEquals(2, run(new StringWriter(), err, "report", dir.toString()));
        assertTrue(err.toString().contains("not a sweep's run folder"), err.toString());
    }
}
