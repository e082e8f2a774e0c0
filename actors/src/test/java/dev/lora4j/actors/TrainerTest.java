package dev.lora4j.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.lora4j.Fixtures;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.data.Tokenizer;
import dev.lora4j.lora.Adapter;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.HfModels;
import dev.lora4j.run.TrainingConfig;
import dev.lora4j.sweep.TrialSpec;
import dev.lora4j.train.RunFolder;
import dev.lora4j.train.TrainingData;
import dev.lora4j.train.TrialData;
import dev.lora4j.train.TrialRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerTest {
    static final ActorTestKit kit = ActorTestKit.create(ConfigFactory.load());
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

    static ActorRef<Trainer.Command> trainer(ActorRef<Checkpointer.Command> checkpointer) {
        return kit.spawn(Trainer.create(1, checkpointer, null), "trainer-" + System.nanoTime(),
                DispatcherSelector.fromConfig("lora4j.trainer-dispatcher"));
    }

    static Trainer.Train train(String id, double lr, int maxSteps, int saveSteps, Path dir,
            ActorRef<TrialEvent> events, ActorRef<Trainer.Outcome> replyTo) {
        TrainingConfig t = TrainingConfig.builder().learningRate(lr).maxSteps(maxSteps).batchSize(4)
                .saveSteps(saveSteps).seed(1).build();
        TrialSpec spec = Specs.trial(id, LoraConfig.builder().targetModules("q_proj", "v_proj").build(), t);
        Adapter adapter = Adapter.create(base, spec.lora(), 1);
        TrialData data = TrainingData.open(spec.data(), spec.task(), tokenizer, 4, 1);
        TrialModel model = new TrialModel(spec, new DeviceSlot("cpu", 0, 0, 1),
                new ModelInjector.BaseKey("m", spec.task(), "cpu"), base, adapter);
        return new Trainer.Train(model, data, TrialRun.Settings.of(t, "eval_loss", false),
                new RunFolder(dir.resolve(id)), null, 0, events, replyTo);
    }

    @Test
    void aTrialWaitsForItsCheckpointAndTrialsTakeTurns(@TempDir Path dir) {
        TestProbe<Checkpointer.Command> slowDisk = kit.createTestProbe();
        TestProbe<TrialEvent> events = kit.createTestProbe();
        TestProbe<Trainer.Outcome> done = kit.createTestProbe();
        ActorRef<Trainer.Command> t = trainer(slowDisk.getRef());
        t.tell(train("a", 1e-3, 6, 2, dir, events.getRef(), done.getRef()));
        t.tell(train("b", 1e-3, 6, 0, dir, events.getRef(), done.getRef()));
        Checkpointer.Save save = slowDisk.expectMessageClass(Checkpointer.Save.class, Duration.ofSeconds(30));
        assertEquals("a", save.trialId());
        assertEquals(2, save.checkpoint().state().step());
        // while a's checkpoint is being written a waits; b trains on to its end in the meantime
        Checkpointer.Finish bDone = slowDisk.expectMessageClass(Checkpointer.Finish.class, Duration.ofSeconds(30));
        assertEquals("b", bDone.trialId());
        List<String> progressed = new ArrayList<>();
        events.receiveSeveralMessages(6, Duration.ofSeconds(30)).stream()
                .filter(e -> e instanceof TrialEvent.Progress).forEach(e -> progressed.add(e.trialId()));
        assertEquals(2, progressed.stream().filter("a"::equals).count(), "a stopped at its checkpoint: " + progressed);
        slowDisk.expectNoMessage(Duration.ofMillis(300));
        save.replyTo().tell(new Checkpointer.Saved("a", 2, dir.resolve("a/checkpoints/step-2"), null));
        Checkpointer.Save next = slowDisk.expectMessageClass(Checkpointer.Save.class, Duration.ofSeconds(30));
        assertEquals(4, next.checkpoint().state().step(), "a resumed and reached its next checkpoint");
    }

    @Test
    void cancelCheckpointsAndReports(@TempDir Path dir) {
        ActorRef<Checkpointer.Command> disk = kit.spawn(Checkpointer.create(), "disk-" + System.nanoTime(),
                DispatcherSelector.blocking());
        TestProbe<TrialEvent> events = kit.createTestProbe();
        TestProbe<Trainer.Outcome> done = kit.createTestProbe();
        ActorRef<Trainer.Command> t = trainer(disk);
        t.tell(train("c", 1e-3, 10_000, 0, dir, events.getRef(), done.getRef()));
        events.fishForMessage(Duration.ofSeconds(30), e -> e instanceof TrialEvent.Progress
                ? org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes.complete()
                : org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes.continueAndIgnore());
        t.tell(new Trainer.Cancel("c"));
        Trainer.Completed c = assertInstanceOf(Trainer.Completed.class, done.receiveMessage(Duration.ofSeconds(30)));
        assertEquals(TrialResult.Status.CANCELLED, c.status());
        assertTrue(c.steps() > 0 && c.steps() < 10_000);
        assertTrue(Files.isRegularFile(c.lastCheckpoint().resolve("trainer_state.json")), "final checkpoint");
    }

    @Test
    void aDivergingTrialFailsAloneAndTheOtherFinishes(@TempDir Path dir) {
        ActorRef<Checkpointer.Command> disk = kit.spawn(Checkpointer.create(), "disk-" + System.nanoTime(),
                DispatcherSelector.blocking());
        TestProbe<TrialEvent> events = kit.createTestProbe();
        TestProbe<Trainer.Outcome> done = kit.createTestProbe();
        ActorRef<Trainer.Command> t = trainer(disk);
        t.tell(train("good", 1e-3, 5, 0, dir, events.getRef(), done.getRef()));
        Trainer.Train bad = train("bad", 1e-3, 5, 0, dir, events.getRef(), done.getRef());
        t.tell(new Trainer.Train(bad.model(), new TrialData(new Failing(bad.data().train(), 3), bad.data().eval(),
                bad.data().objective()), bad.settings(), bad.folder(), null, 0, bad.events(), bad.replyTo()));
        List<Trainer.Outcome> outcomes = done.receiveSeveralMessages(2, Duration.ofSeconds(60));
        Trainer.Crashed crashed = outcomes.stream().filter(o -> o instanceof Trainer.Crashed).map(o -> (Trainer.Crashed) o)
                .findFirst().orElseThrow();
        assertEquals("bad", crashed.model().spec().id());
        assertEquals("disk gone", crashed.reason());
        assertEquals(2, crashed.step());
        Trainer.Completed good = outcomes.stream().filter(o -> o instanceof Trainer.Completed)
                .map(o -> (Trainer.Completed) o).findFirst().orElseThrow();
        assertEquals(TrialResult.Status.FINISHED, good.status());
        assertEquals(5, good.steps());
        assertTrue(Files.isRegularFile(good.adapter().resolve("adapter_model.safetensors")));
    }

    /** A batch source whose storage fails on the n-th batch. */
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
