package dev.lora4j.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.lora4j.api.SweepReport;
import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.report.SweepFolder;
import dev.lora4j.train.RunFolder;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.xpath.XPath;
import javax.xml.xpath.XPathConstants;
import javax.xml.xpath.XPathFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/** report.html of a hand-written run folder, parsed as XML: its charts, leaderboard, escaping and self-containment. */
class HtmlReportTest {
    private static final XPath XPATH = XPathFactory.newInstance().newXPath();

    @TempDir Path dir;

    @Test
    void isWellFormedAndLoadsNothing() throws Exception {
        String html = Files.readString(HtmlReport.write(dir, SampleRun.write(dir)), StandardCharsets.UTF_8);
        Document doc = parse(html);
        assertEquals("html", doc.getDocumentElement().getTagName());
        assertFalse(html.contains("http://"), "no http reference");
        assertFalse(html.contains("https://"), "no https reference");
        assertEquals(0, count(doc, "//*[@src]"), "nothing embedded by reference");
        assertEquals(1, count(doc, "//script"), "only the page's own script");
        for (String href : strings(doc, "//@href")) {
            assertTrue(href.startsWith("#") || href.equals("data:,") || href.startsWith("trials/"), href);
        }
        assertEquals(0, count(doc, "//link[@rel='stylesheet']"), "the stylesheet is inline");
    }

    @Test
    void drawsOneLossCurvePerTrialWithEachStep() throws Exception {
        Document doc = parse(HtmlReport.render(dir, SampleRun.write(dir)));
        assertEquals(List.of("t-a", "t-b", "t-c"), strings(doc, "//svg[@id='loss-curves']//path[@class='curve']"
                + "/@data-trial"));
        for (String[] expected : new String[][] {{"t-a", "5"}, {"t-b", "5"}, {"t-c", "3"}}) {
            Element path = (Element) node(doc, "//svg[@id='loss-curves']//path[@data-trial='" + expected[0] + "']");
            assertEquals(expected[1], path.getAttribute("data-points"));
            assertEquals(Integer.parseInt(expected[1]), vertices(path.getAttribute("d")), path.getAttribute("d"));
        }
        // the failed trial never evaluated: only the others have metric curves
        assertEquals(List.of("t-a", "t-b"), strings(doc, "//svg[@id='metric-curves']//path[@class='curve']"
                + "/@data-trial"));
        assertEquals("2", ((Element) node(doc, "//svg[@id='metric-curves']//path[@data-trial='t-b']"))
                .getAttribute("data-points"));
        assertEquals(3, count(doc, "//ul[@id='legend']/li[@data-trial]"));
        assertTrue(count(doc, "//svg[@id='loss-curves']//text[@class='tick']") >= 4, "the axes are labelled");
    }

    @Test
    void ranksTheLeaderboardWithTheFailedTrialLastAndItsReason() throws Exception {
        Document doc = parse(HtmlReport.render(dir, SampleRun.write(dir)));
        assertEquals(List.of("t-b", "t-a", "t-c"), strings(doc, "//table[@id='leaderboard']/tbody/tr/@data-trial"));
        assertEquals(List.of("1", "2", "—"), strings(doc, "//table[@id='leaderboard']/tbody/tr/td[1]"));
        assertEquals("failed", text(doc, "//tr[@data-trial='t-c']//span[contains(@class,'status')]"));
        assertEquals(SampleRun.REASON, text(doc, "//tr[@data-trial='t-c']/td[@class='reason']"));
        assertEquals("trials/t-b/adapter", text(doc, "//tr[@data-trial='t-b']//a/code"));
        assertEquals("—", text(doc, "//tr[@data-trial='t-c']/td[last()-1]"), "no adapter for the failed trial");
        String header = text(doc, "//header");
        assertTrue(header.contains("eval_loss") && header.contains("lower is better"), header);
        assertTrue(header.contains("2 finished · 1 failed"), header);
        assertTrue(header.contains("1m 35s"), header);
        assertEquals("r8", text(doc, "//div[contains(@class,'best')]//a"));
    }

    @Test
    void escapesNamesAndReasons() throws Exception {
        String html = HtmlReport.render(dir, SampleRun.write(dir));
        assertFalse(html.contains("<script>alert"), "a trial name is text, never markup");
        assertFalse(html.contains("<retry>"));
        assertTrue(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;"));
        Document doc = parse(html);
        assertEquals("sample <sweep>", text(doc, "//h1"));
        assertTrue(text(doc, "//tr[@data-trial='t-a']/td[2]").contains(SampleRun.HOSTILE));
        assertEquals(SampleRun.HOSTILE, text(doc, "//svg[@id='loss-curves']//path[@data-trial='t-a']/title"));
        assertEquals("x\uFFFDy", Markup.escape("x\u0007y"), "characters XML forbids cannot break the page");
        assertEquals("\uD83D\uDE00 \uFFFD", Markup.escape("\uD83D\uDE00 \uD800"), "nor an unpaired surrogate");
    }

    @Test
    void comparesTrialsByEachParameterAndInParallelCoordinates() throws Exception {
        Document doc = parse(HtmlReport.render(dir, SampleRun.write(dir)));
        // only trials with a metric value have a dot
        assertEquals(List.of("t-a", "t-b"), strings(doc, "//svg[@id='param-lora.r']//circle[@class='point']"
                + "/@data-trial"));
        assertFalse(text(doc, "//svg[@id='param-lora.r']").contains("(log)"), "4 to 16 is linear");
        assertTrue(text(doc, "//svg[@id='param-training.learning_rate']").contains("learning_rate (log)"),
                "1e-4 to 3e-3 spans more than 10x");
        assertEquals(List.of("t-a", "t-b", "t-c"), strings(doc, "//svg[@id='parallel-coordinates']"
                + "//path[contains(@class,'line')]/@data-trial"));
        assertEquals("line no-metric", ((Element) node(doc, "//svg[@id='parallel-coordinates']"
                + "//path[@data-trial='t-c']")).getAttribute("class"));
        assertEquals(List.of("r", "learning_rate", "eval_loss"), strings(doc, "//svg[@id='parallel-coordinates']"
                + "//text[@class='label']"));
        // the best trial ends on top of the metric axis (y grows downwards)
        assertTrue(lastY(doc, "t-b") < lastY(doc, "t-a"));
    }

    @Test
    void rebuildsTheSameChartsFromTheFolderAlone() throws Exception {
        SweepReport live = SampleRun.write(dir);
        new SweepFolder(dir).writeLeaderboard(live);
        String first = HtmlReport.render(dir, live);
        String again = Files.readString(HtmlReport.write(dir), StandardCharsets.UTF_8);
        for (String id : List.of("loss-curves", "metric-curves", "param-lora.r", "param-training.learning_rate",
                "parallel-coordinates")) {
            assertEquals(svg(first, id), svg(again, id), id);
        }
        Document doc = parse(again);
        assertEquals("sample <sweep>", text(doc, "//h1"));
        assertEquals(List.of("t-b", "t-a", "t-c"), strings(doc, "//table[@id='leaderboard']/tbody/tr/@data-trial"));
        assertEquals(SampleRun.REASON, text(doc, "//tr[@data-trial='t-c']/td[@class='reason']"));
        assertEquals("trials/t-a/adapter", text(doc, "//tr[@data-trial='t-a']//a/code"));
        Duration wall = new SweepFolder(dir).readReport().wallTime();
        assertTrue(wall.toMillis() >= 12_500, "at least the longest trial: " + wall);
    }

    @Test
    void rebuildsTrialsTheLeaderboardDoesNotListYet() throws Exception {
        SampleRun.write(dir);
        SweepReport read = new SweepFolder(dir).readReport();
        assertEquals(List.of("t-b", "t-a", "t-c"), read.leaderboard().stream().map(TrialResult::trialId).toList());
        // without a leaderboard, a trial without result.json did not end before the sweep stopped
        assertEquals(TrialResult.Status.CANCELLED, read.leaderboard().get(2).status());
        assertTrue(read.cancelled());
        assertEquals(0.7, read.best().orElseThrow().metric("eval_loss").orElseThrow());
    }

    @Test
    void showsASingleTrialWithoutEvaluationsAndWithANaNLoss() throws Exception {
        String progress = SampleRun.progress(4, 2.0, List.of(), 0).replaceFirst("(?m)^3,0\\.1,[^,]*,", "3,0.1,,");
        TrialResult only = SampleRun.trial(dir, "solo", "solo", 0, 8, 1e-3, TrialResult.Status.STOPPED, Double.NaN,
                "stopped by ASHA at rung 1", progress);
        Document doc = parse(HtmlReport.render(dir, new SweepReport("one", SampleRun.METRIC, List.of(only),
                Duration.ZERO, false, null)));
        Element path = (Element) node(doc, "//svg[@id='loss-curves']//path[@class='curve']");
        assertEquals("3", path.getAttribute("data-points"));
        assertEquals(2, path.getAttribute("d").split("M").length - 1, "a NaN loss breaks the curve");
        assertEquals(0, count(doc, "//svg[@id='metric-curves']//path"));
        assertTrue(text(doc, "//svg[@id='metric-curves']").contains("no eval_loss values recorded"));
        assertTrue(text(doc, "//svg[@id='param-lora.r']").contains("no trial has a eval_loss"));
        assertEquals("stopped by ASHA at rung 1", text(doc, "//tr[@data-trial='solo']/td[@class='reason']"));
    }

    @Test
    void showsAnEmptySweepAndOneWithoutParameters() throws Exception {
        Document empty = parse(HtmlReport.render(dir, new SweepReport("none", SampleRun.METRIC, List.of(),
                Duration.ZERO, false, null)));
        assertEquals(0, count(empty, "//table[@id='leaderboard']/tbody/tr"));
        assertEquals(1, count(empty, "//svg[@id='loss-curves']"));
        TrialResult plain = TrialResult.builder("p").name("plain").metrics(Map.of("eval_loss", 1.0)).steps(1).seconds(1)
                .build();
        Document noParams = parse(HtmlReport.render(dir, new SweepReport("plain", SampleRun.METRIC, List.of(plain),
                Duration.ofMillis(900), false, null)));
        assertTrue(text(noParams, "//section[@id='parameters']").contains("varies no parameter"));
    }

    @Test
    void drawsAHundredTrialsWithTextParametersQuickly() throws Exception {
        List<TrialResult> trials = new ArrayList<>();
        String[] schedulers = {"linear", "cosine", "constant <x>"};
        for (int i = 0; i < 100; i++) {
            String id = String.format("t%03d", i);
            SampleRun.write(dir.resolve("trials").resolve(id).resolve(RunFolder.PROGRESS),
                    SampleRun.progress(40, 3 + i * 0.01, List.of(20L, 40L), 1 + i * 0.01));
            Map<String, JsonNode> p = Map.of("lora.r", IntNode.valueOf(4 << (i % 4)),
                    "training.lr_scheduler_type", TextNode.valueOf(schedulers[i % 3]));
            trials.add(TrialResult.builder(id).name("trial " + i).index(i).parameters(p)
                    .metrics(Map.of("eval_loss", 1.0 + i * 0.01)).steps(40).seconds(30).build());
        }
        long start = System.nanoTime();
        String html = HtmlReport.render(dir, new SweepReport("hundred", SampleRun.METRIC, trials,
                Duration.ofMinutes(42), false, null));
        assertTrue(System.nanoTime() - start < 5_000_000_000L, "renders in well under a second or two");
        Document doc = parse(html);
        assertEquals(100, count(doc, "//svg[@id='loss-curves']//path[@class='curve']"));
        assertEquals(100, count(doc, "//ul[@id='legend']/li"));
        assertEquals(List.of("linear", "cosine", "constant <x>"), strings(doc,
                "//svg[@id='param-training.lr_scheduler_type']//text[@class='tick']").subList(0, 3));
        assertEquals("#2f6fbf", ((Element) node(doc, "//svg[@id='loss-curves']//path[@data-trial='t000']"))
                .getAttribute("stroke"), "colours follow the sweep order");
        assertEquals(((Element) node(doc, "//svg[@id='loss-curves']//path[@data-trial='t057']"))
                .getAttribute("stroke"), ((Element) node(doc, "//ul[@id='legend']/li[@data-trial='t057']/span"))
                .getAttribute("style").replace("background:", ""), "the legend's colour is the curve's");
    }

    @Test
    void picksLinearLogAndBandAxes() {
        assertTrue(Scale.of(List.of(IntNode.valueOf(4), IntNode.valueOf(32))) instanceof Scale.Linear);
        assertTrue(Scale.of(List.of(new com.fasterxml.jackson.databind.node.DoubleNode(1e-5),
                new com.fasterxml.jackson.databind.node.DoubleNode(1e-4))) instanceof Scale.Log);
        assertTrue(Scale.of(List.of(TextNode.valueOf("cosine"), IntNode.valueOf(1))) instanceof Scale.Band);
        Scale one = Scale.numbers(List.of(0.5), false);
        assertEquals(0.5, one.at(0.5), 1e-9, "a single value sits in the middle");
        assertEquals(List.of("1e-5", "2e-5", "5e-5", "1e-4"), Scale.Log.around(1e-5, 1e-4).ticks().stream()
                .map(Scale.Tick::label).toList());
        assertEquals(List.of("4.86", "4.88", "4.90", "4.92", "4.94", "4.96", "4.98"), Scale.Linear.around(4.882,
                4.965, 0, true).ticks().stream().map(Scale.Tick::label).toList());
        assertEquals(List.of("1", "2", "3", "4"), Scale.steps(List.of(1.0, 4.0)).ticks().stream()
                .map(Scale.Tick::label).toList(), "steps are whole");
        assertEquals("0", Scale.numbers(List.of(0.01, 0.7), false).ticks().get(0).label(),
                "room below positive values stops at zero");
    }

    private static double lastY(Document doc, String trial) throws Exception {
        String d = ((Element) node(doc, "//svg[@id='parallel-coordinates']//path[@data-trial='" + trial + "']"))
                .getAttribute("d");
        return Double.parseDouble(d.substring(d.lastIndexOf(',') + 1));
    }

    private static int vertices(String d) {
        Matcher m = Pattern.compile("[ML]-?\\d").matcher(d);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }

    private static String svg(String html, String id) {
        int start = html.indexOf("<svg class=\"chart\" id=\"" + id + "\"");
        assertTrue(start >= 0, id);
        return html.substring(start, html.indexOf("</svg>", start));
    }

    static Document parse(String html) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
        return f.newDocumentBuilder().parse(new ByteArrayInputStream(html.getBytes(StandardCharsets.UTF_8)));
    }

    private static Object node(Document doc, String xpath) throws Exception {
        Object n = XPATH.evaluate(xpath, doc, XPathConstants.NODE);
        assertTrue(n != null, xpath);
        return n;
    }

    private static int count(Document doc, String xpath) throws Exception {
        return ((NodeList) XPATH.evaluate(xpath, doc, XPathConstants.NODESET))
                .getLength();
    }

    private static List<String> strings(Document doc, String xpath) throws Exception {
        NodeList nodes = (NodeList) XPATH.evaluate(xpath, doc,
                XPathConstants.NODESET);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < nodes.getLength(); i++) {
            out.add(nodes.item(i).getTextContent());
        }
        return out;
    }

    private static String text(Document doc, String xpath) throws Exception {
        return XPATH.evaluate(xpath, doc);
    }
}
