package dev.lora4j.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.sweep.SweepSpec;
import dev.lora4j.sweep.Tpe;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What the learned search buys, on a stand-in objective instead of training (the demo's measurement, trials to
 * eval_accuracy 0.95, is still to be made): a loss that is a quadratic in log10 learning rate and r, with small
 * penalties for alpha/r and dropout, searched by {@code method: bayes} (TPE, one trial at a time, default 10 start-up
 * draws, and 5) and by {@code method: random} with the same seeds. Prints, over SEEDS seeds, the median best loss
 * after 10, 20 and 40 trials and the median number of trials until the loss is below 0.05 (capped at 100).
 *
 * <p>Usage: {@code SearchOnAStandIn FIXTURES_DIR [SEEDS]} (the fixture's model and data only make the sweep valid).
 */
public final class SearchOnAStandIn {
    private static final int BUDGET = 100;
    private static final double GOOD = 0.05;

    private SearchOnAStandIn() {}

    public static void main(String[] args) throws Exception {
        Path fixtures = Path.of(args[0]).toAbsolutePath();
        int seeds = args.length > 1 ? Integer.parseInt(args[1]) : 50;
        System.out.printf(Locale.ROOT, "%-22s %10s %10s %10s %18s%n", "method", "best@10", "best@20", "best@40",
                "trials to < " + GOOD);
        for (String method : List.of("random", "bayes (10 start-up)", "bayes (5 start-up)")) {
            double[][] best = new double[3][seeds];
            double[] reach = new double[seeds];
            for (int seed = 0; seed < seeds; seed++) {
                int startup = method.startsWith("random") ? Integer.MAX_VALUE : method.contains("10") ? 10 : 5;
                double[] run = run(spec(fixtures, seed, startup).trials().tpe());
                for (int b = 0; b < 3; b++) {
                    int n = new int[] {10, 20, 40}[b];
                    best[b][seed] = Arrays.stream(run, 0, n).min().orElseThrow();
                }
                int k = 0;
                while (k < BUDGET && run[k] >= GOOD) {
                    k++;
                }
                reach[seed] = k + 1;
            }
            double m = median(reach);
            System.out.printf(Locale.ROOT, "%-22s %10.4f %10.4f %10.4f %18s%n", method, median(best[0]),
                    median(best[1]), median(best[2]), m > BUDGET ? "> " + BUDGET : String.format(Locale.ROOT, "%.1f", m));
        }
    }

    /** A bayes sweep whose sampler never leaves start-up is the random sweep with the same seed. */
    private static SweepSpec spec(Path fixtures, int seed, int startup) {
        ObjectNode t = new ObjectMapper().createObjectNode();
        t.put("name", "stand-in");
        t.put("model", fixtures.resolve("tiny-llama-s2/model").toString());
        t.putObject("data").put("train", fixtures.resolve("tiny-llama-s2/data.jsonl").toString());
        t.putObject("method").put("type", "bayes").put("trials", BUDGET).put("seed", seed)
                .put("startup_trials", Math.min(startup, BUDGET + 1));
        t.putObject("metric").put("name", "train_loss");
        ObjectNode p = t.putObject("parameters");
        p.putObject("learning_rate").put("min", 1e-5).put("max", 1e-1).put("distribution", "log_uniform_values");
        p.putObject("r").put("min", 2).put("max", 64);
        p.putObject("lora_alpha").put("ratio_to", "r").putArray("values").add(1).add(2);
        p.putObject("lora_dropout").putArray("values").add(0.0).add(0.05).add(0.1);
        return SweepSpec.fromTree(t, fixtures.resolve("stand-in.yaml")).value();
    }

    private static double[] run(Tpe tpe) {
        double[] losses = new double[BUDGET];
        List<Tpe.Observation> seen = new ArrayList<>();
        for (int i = 0; i < BUDGET; i++) {
            Tpe.Proposal p = tpe.propose(i, seen);
            losses[i] = loss(p.assignment());
            seen.add(new Tpe.Observation(i, p.internal(), losses[i], true));
        }
        return losses;
    }

    private static double loss(Map<String, JsonNode> a) {
        double lr = a.get("training.learning_rate").doubleValue();
        double r = a.get("lora.r").doubleValue();
        double ratio = a.get("lora.lora_alpha").doubleValue() / r;
        return Math.pow(Math.log10(lr) + 3.3, 2) + Math.pow((r - 20) / 16, 2) + (ratio == 2 ? 0 : 0.01)
                + 0.1 * a.get("lora.lora_dropout").doubleValue();
    }

    private static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
