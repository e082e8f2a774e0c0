package dev.lora4j.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.lora4j.Fixtures;
import dev.lora4j.api.trial.Failure;
import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.data.Tokenizer;
import dev.lora4j.lora.Adapter;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.HfModels;
import dev.lora4j.run.TrainingConfig;
import dev.lora4j.sweep.TrialSpec;
import dev.lora4j.train.TrainingData;
import dev.lora4j.train.TrialData;
import dev.lora4j.train.TrialRun;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A lane on the real engine: turns, checkpoint backpressure, cancel, failures of one trial, and its own death. */
class TrainerTest {
    static final ActorTestKit kit = ActorTestKit.create(ConfigFactory.load());
    static final Duration WAIT = Duration.ofSeconds(30);
    static BaseModel base;
    static Tokenizer tokenizer;

    @BeforeAll
    static void load() {
        base = HfModels.load(Fixtures.tinyLlama("s2").resolve("model"));
        tokenizer = Tokenizer.forModel(base.folder().orElseThrow(), 0);
    }

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
        tokenizer.close();
        base.close();
    }

    static ActorRef<Trainer.Command> lane(TrainingRun.Factory runs) {
        return kit.spawn(Trainer.create(1, runs), "lane-" + System.nanoTime(),
                DispatcherSelector.fromConfig("lora4j.trainer-dispatcher"));
    }

    /** A trial for an owner that is the probe itself (the lane watches it and reports to it). */
    static Trainer.Train train(String id, int maxSteps, int saveSteps, TestProbe<Trainer.Report> owner) {
        TrainingConfig.Builder b = TrainingConfig.builder().learningRate(1e-3).maxSteps(maxSteps).batchSize(4).seed(1);
        if (saveSteps > 0) {
            b.saveSteps(saveSteps);
        }
        TrainingConfig t = b.build();
        TrialSpec spec = Specs.trial(id, LoraConfig.builder().targetModules("q_proj", "v_proj").build(), t);
        TrialModel model = TrialModel.of(spec, "cpu", base, Adapter.create(base, spec.lora(), 1));
        TrialData data = TrainingData.open(spec.data(), spec.task(), tokenizer, 4, 1);
        return new Trainer.Train(model, data, TrialRun.Settings.of(t, "eval_loss", false), null, Set.of(),
                false, owner.getRef(), owner.getRef());
    }

    static <T extends Trainer.Report> T next(TestProbe<Trainer.Report> p, Class<T> type) {
        List<T> found = new ArrayList<>();
        p.fishForMessage(WAIT, r -> {
            if (type.isInstance(r)) {
                found.add(type.cast(r));
                return FishingOutcomes.complete();
            }
            return FishingOutcomes.continueAndIgnore();
        });
        return found.get(0);
    }

    @Test
    void aTrialWaitsForItsCheckpointWhileTheOtherTakesItsTurns() {
        TestProbe<Trainer.Report> a = kit.createTestProbe();
        TestProbe<Trainer.Report> b = kit.createTestProbe();
        ActorRef<Trainer.Command> lane = lane(TrainingRun.engine());
        lane.tell(train("a", 6, 2, a));
        lane.tell(train("b", 6, 0, b));
        Trainer.SaveCheckpoint save = next(a, Trainer.SaveCheckpoint.class);
        assertEquals(2, save.checkpoint().state().step());
        // while a's checkpoint is not acknowledged a waits; b trains on to its end in the meantime
        Trainer.Completed bDone = next(b, Trainer.Completed.class);
        assertEquals(6, bDone.steps());
        a.expectNoMessage(Duration.ofMillis(300));
        lane.tell(new Trainer.Saved(a.getRef(), 2, null));
        Trainer.SaveCheckpoint again = next(a, Trainer.SaveCheckpoint.class);
        assertEquals(4, again.checkpoint().state().step(), "a went on after the acknowledgement");
        lane.tell(new Trainer.Saved(a.getRef(), 4, null));
        Trainer.Completed aDone = next(a, Trainer.Completed.class);
        assertEquals(TrialResult.Status.FINISHED, aDone.status());
        assertEquals(8, aDone.adapter().tensors().size(), "the best adapter travels with the result (A and B of q, v"
                + " in two layers)");
    }

    @Test
    void cancelCheckpointsWhatWasDoneThenReports() {
        TestProbe<Trainer.Report> owner = kit.createTestProbe();
        ActorRef<Trainer.Command> lane = lane(TrainingRun.engine());
        lane.tell(train("c", 10_000, 0, owner));
        next(owner, Trainer.Stepped.class);
        lane.tell(new Trainer.Cancel(owner.getRef()));
        Trainer.SaveCheckpoint last = next(owner, Trainer.SaveCheckpoint.class);
        long step = last.checkpoint().state().step();
        assertTrue(step > 0 && step < 10_000);
        lane.tell(new Trainer.Saved(owner.getRef(), step, null));
        Trainer.Completed c = next(owner, Trainer.Completed.class);
        assertEquals(TrialResult.Status.CANCELLED, c.status());
        assertEquals(step, c.steps());
        assertNull(c.adapter(), "a cancelled trial lives on in its checkpoint");
    }

    @Test
    void aFailingTrialFailsAloneAndTheOtherFinishes() {
        TestProbe<Trainer.Report> good = kit.createTestProbe();
        TestProbe<Trainer.Report> bad = kit.createTestProbe();
        ActorRef<Trainer.Command> lane = lane(TrainingRun.engine());
        lane.tell(train("good", 5, 0, good));
        Trainer.Train b = train("bad", 5, 0, bad);
        lane.tell(new Trainer.Train(b.model(), new TrialData(new Failing(b.data().train(), 3), b.data().eval(),
                b.data().objective()), b.settings(), null, Set.of(), false, b.replyTo(), b.owner()));
        Trainer.Crashed crashed = next(bad, Trainer.Crashed.class);
        assertEquals(new Failure.Internal("disk gone"), crashed.failure());
        assertEquals(2, crashed.step());
        assertEquals(1, b.model().holders(), "the lane let go of the failed trial's model; only its owner holds it");
        b.model().release();
        Trainer.Completed ok = next(good, Trainer.Completed.class);
        assertEquals(TrialResult.Status.FINISHED, ok.status());
        assertEquals(5, ok.steps());
    }

    @Test
    void aLaneThatDiesLetsGoOfEveryTrialItHeld() {
        TestProbe<Trainer.Report> x = kit.createTestProbe();
        TestProbe<Trainer.Report> y = kit.createTestProbe();
        FakeRuns runs = new FakeRuns().fault("x", 3, FakeRuns.Fault.KILL_LANE);
        ActorRef<Trainer.Command> lane = lane(runs);
        Trainer.Train tx = train("x", 100, 0, x);
        Trainer.Train ty = train("y", 100, 0, y);
        lane.tell(tx);
        lane.tell(ty);
        TestProbe<Object> watcher = kit.createTestProbe();
        watcher.expectTerminated(lane, WAIT);
        assertEquals(1, tx.model().holders(), "only the owner's hold is left");
        assertEquals(1, ty.model().holders());
        assertEquals(0, runs.live(), "both runs were closed on the way out");
        tx.model().release();
        ty.model().release();
    }

    /** A batch source that fails on its n-th batch. */
    private record Failing(dev.lora4j.train.BatchSource inner, int failAt, int[] taken)
            implements dev.lora4j.train.BatchSource {
        Failing(dev.lora4j.train.BatchSource inner, int failAt) {
            this(inner, failAt, new int[1]);
        }

        @Override
        public int batchSize() {
            return inner.batchSize();
        }

        @Override
        public int batchesPerEpoch() {
            return inner.batchesPerEpoch();
        }

        @Override
        public dev.lora4j.data.Batch next() {
            if (++taken[0] == failAt) {
                throw new IllegalStateException("disk gone");
            }
            return inner.next();
        }

        @Override
        public dev.lora4j.data.Cursor cursor() {
            return inner.cursor();
        }

        @Override
        public void seek(dev.lora4j.data.Cursor c) {
            inner.seek(c);
        }

        @Override
        public dev.lora4j.train.BatchSource at(dev.lora4j.data.Cursor c) {
            return inner.at(c);
        }
    }
}
