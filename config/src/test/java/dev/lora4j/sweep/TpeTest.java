package dev.lora4j.sweep;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The TPE sampler of method: bayes against hand-computed densities, and against random search. */
class TpeTest {
    @TempDir Path dir;

    @Test
    void parzenEstimatorMatchesHandComputedDensities() {
        // observations 2, 5, 6 on [0, 10]: neighbour gaps give sigmas 3, 3, 1 (the outermost look inwards only),
        // clipped below at 10 / min(100, 1 + 4) = 2; the prior kernel is N(5, 10); each of the 4 kernels weighs 1/4
        Tpe.Gaussians g = (Tpe.Gaussians) Tpe.Mixture.of(new Tpe.Numeric(0, 10, false), new double[] {2, 5, 6});
        assertArrayEquals(new double[] {2, 5, 6, 5}, g.mus(), 0);
        assertArrayEquals(new double[] {3, 3, 2, 10}, g.sigmas(), 0);
        assertArrayEquals(new double[] {0.25, 0.25, 0.25, 0.25}, g.weights(), 1e-15);
        // scipy: log(sum w_k * norm.pdf((x - mu_k) / s_k) / s_k / (Phi((10 - mu_k) / s_k) - Phi(-mu_k / s_k)))
        assertEquals(-2.0598173440011753, g.logDensity(4.0), 1e-12);
        assertEquals(-3.026467422230763, g.logDensity(9.5), 1e-12);
        // categorical: 0, 0, 2 of three choices; each kernel puts 1/4 (prior weight / kernels) everywhere plus 1 on
        // its observation, normalised; the prior kernel is uniform
        Tpe.Mixture c = Tpe.Mixture.of(new Tpe.Categorical(3), new double[] {0, 0, 2});
        assertEquals(-0.7419373447293773, c.logDensity(0), 1e-12);
        assertEquals(-1.6582280766035324, c.logDensity(1), 1e-12);
        assertEquals(-1.0986122886681098, c.logDensity(2), 1e-12);
        // no observation: the prior alone
        assertEquals(Math.log(1 / 3.0), Tpe.Mixture.of(new Tpe.Categorical(3), new double[0]).logDensity(1), 1e-12);
    }

    @Test
    void observationWeightsAreOptunasDefault() {
        assertArrayEquals(new double[] {1, 1, 1}, Tpe.observationWeights(3), 0);
        double[] w = Tpe.observationWeights(27);
        assertEquals(1 / 27.0, w[0], 1e-15);
        assertEquals(1.0, w[1], 1e-15);
        assertTrue(Arrays.stream(w, 2, 27).allMatch(x -> x == 1.0));
    }

    @Test
    void theWinnerIsTheCandidateWithTheBestDensityRatio() {
        // the good trials sit near 2, the bad ones near 8: the chosen point must be near 2 and no drawn candidate
        // may beat it on log l - log g
        double[] good = {1.8, 2.1};
        double[] bad = {7.5, 8.0, 8.4, 9.1};
        SplitMix64 rng = SplitMix64.forTrial(5, 11);
        double x = Tpe.choose(new Tpe.Numeric(0, 10, false), good, bad, rng);
        Tpe.Mixture l = Tpe.Mixture.of(new Tpe.Numeric(0, 10, false), good);
        Tpe.Mixture g = Tpe.Mixture.of(new Tpe.Numeric(0, 10, false), bad);
        SplitMix64 same = SplitMix64.forTrial(5, 11);
        double best = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < Tpe.EI_CANDIDATES; i++) {
            double c = l.sample(same);
            best = Math.max(best, l.logDensity(c) - g.logDensity(c));
        }
        assertEquals(best, l.logDensity(x) - g.logDensity(x), 0);
        assertTrue(x < 5, "x " + x);
    }

    private SweepSpec spec(String method) throws IOException {
        return TinySweeps.read(dir, "method: " + method + "\nparameters:\n"
                + "  learning_rate: {min: 1.0e-5, max: 1.0e-1, distribution: log_uniform_values}\n"
                + "  r: {min: 2, max: 64}\n  lora_alpha: {ratio_to: r, values: [1, 2]}\n"
                + "  lora_dropout: {values: [0.0, 0.05, 0.1]}\n");
    }

    /** A stand-in trainer: best at learning rate 5e-4 and r 20, with alpha and dropout mattering a little. */
    private static double loss(Map<String, JsonNode> a) {
        double lr = a.get("training.learning_rate").doubleValue();
        double r = a.get("lora.r").doubleValue();
        double ratio = a.get("lora.lora_alpha").doubleValue() / r;
        return Math.pow(Math.log10(lr) + 3.3, 2) + Math.pow((r - 20) / 16, 2) + (ratio == 2 ? 0 : 0.1)
                + a.get("lora.lora_dropout").doubleValue();
    }

    private static double bestAfter(Tpe tpe, int n) {
        List<Tpe.Observation> seen = new ArrayList<>();
        double best = Double.MAX_VALUE;
        for (int i = 0; i < n; i++) {
            Tpe.Proposal p = tpe.propose(i, seen);
            double v = loss(p.assignment());
            best = Math.min(best, v);
            seen.add(new Tpe.Observation(i, p.internal(), v, true));
        }
        return best;
    }

    @Test
    void bayesBeatsRandomOnAQuadraticInLogLearningRateAndRank() throws IOException {
        // 5 start-up draws, then 15 learned proposals (median best 0.187 against random's 0.251 when written)
        SweepSpec s = spec("{type: bayes, trials: 20}");
        double[] bayes = new double[20];
        double[] random = new double[20];
        for (int seed = 0; seed < 20; seed++) {
            bayes[seed] = bestAfter(new Tpe(s.trials(), s.parameters(), seed, 5), 20);
            // never past start-up: the random sweep's draws
            random[seed] = bestAfter(new Tpe(s.trials(), s.parameters(), seed, Integer.MAX_VALUE), 20);
        }
        Arrays.sort(bayes);
        Arrays.sort(random);
        double mb = (bayes[9] + bayes[10]) / 2;
        double mr = (random[9] + random[10]) / 2;
        assertTrue(mb < mr, "median best after 20: bayes " + mb + ", random " + mr);
    }

    @Test
    void startUpDrawsAreTheRandomSweepsAndProposalsAreDeterministic() throws IOException {
        SweepSpec bayes = spec("{type: bayes, trials: 30, seed: 4, startup_trials: 5}");
        SweepSpec random = spec("{type: random, trials: 30, seed: 4}");
        Tpe tpe = bayes.trials().tpe();
        for (int i = 0; i < 5; i++) {
            assertEquals(random.trials().get(i).parameters(), tpe.propose(i, List.of()).assignment());
            assertEquals(random.trials().get(i).id(), bayes.trials().bayes(tpe.propose(i, List.of())).id(),
                    "a start-up trial has the random draw's id");
        }
        List<Tpe.Observation> seen = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            Tpe.Proposal p = tpe.propose(i, seen);
            seen.add(new Tpe.Observation(i, p.internal(), loss(p.assignment()), true));
        }
        Tpe.Proposal a = tpe.propose(8, seen);
        List<Tpe.Observation> shuffled = new ArrayList<>(seen);
        java.util.Collections.reverse(shuffled);
        assertEquals(a.assignment(), tpe.propose(8, shuffled).assignment(), "order of the list does not matter");
        assertEquals(a.assignment(), bayes.trials().tpe().propose(8, seen).assignment(), "a new sampler agrees");
        assertNotEquals(a.assignment(), spec("{type: bayes, trials: 30, seed: 5, startup_trials: 5}").trials().tpe()
                .propose(8, seen).assignment(), "another seed proposes otherwise");
        // the constant liar: a running trial at the proposal counts as bad, so the next proposal moves away
        List<Tpe.Observation> withRunning = new ArrayList<>(seen);
        withRunning.add(new Tpe.Observation(8, a.internal(), null, false));
        assertNotEquals(a.assignment(), tpe.propose(9, withRunning).assignment());
        // and so does a failed trial; neither counts as a measurement for the start-up
        Tpe.Observation failed = new Tpe.Observation(8, a.internal(), null, true);
        List<Tpe.Observation> fewMeasured = new ArrayList<>(seen.subList(0, 4));
        fewMeasured.add(failed);
        assertEquals(random.trials().get(9).parameters(), tpe.propose(9, fewMeasured).assignment(),
                "4 measured of 5 start-up: still random");
    }
}
