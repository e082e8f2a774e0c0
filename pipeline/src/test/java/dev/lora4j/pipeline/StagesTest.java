package dev.lora4j.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.Fixtures;
import dev.lora4j.actors.ConfigValidator;
import dev.lora4j.actors.DevicePool;
import dev.lora4j.actors.ModelInjector;
import dev.lora4j.actors.Trainer;
import dev.lora4j.actors.TrialEvent;
import dev.lora4j.actors.TrialModel;
import dev.lora4j.actors.TrialResult;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.TaskType;
import dev.lora4j.config.Validation;
import dev.lora4j.run.DataSpec;
import dev.lora4j.run.ModelSpec;
import dev.lora4j.run.TrainingConfig;
import dev.lora4j.sweep.Metric;
import dev.lora4j.sweep.TrialSpec;
import dev.lora4j.train.Objective;
import dev.lora4j.train.TrialData;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The stages with stand-in actors: retries and back-off, and laziness over a huge sweep. */
class StagesTest {
    static final ActorTestKit kit = ActorTestKit.create();

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
    }

    static TrialSpec spec(long i, int batch, int accumulation) {
        Path dir = Fixtures.tinyLlama("s2");
        return new TrialSpec("t" + i, "t" + i, i, Map.of(), LoraConfig.builder().targetModules("q_proj").build(),
                TrainingConfig.builder().batchSize(batch).gradientAccumulationSteps(accumulation).maxSteps(4).build(),
                new ModelSpec.Local("model", dir.resolve("model")), DataSpec.builder(dir.resolve("data.jsonl")).build(),
                TaskType.CAUSAL_LM, Validation.ok());
    }

    static SweepContext context(ActorRef<ModelInjector.Command> injector, ActorRef<Trainer.Command> trainer,
            DataOpener data, ActorRef<TrialEvent> events, Path folder, int maxRetries, int slots) {
        var pool = kit.spawn(DevicePool.create(List.of(new DevicePool.DeviceLayout("cpu", 1, slots, 1))));
        return new SweepContext(kit.system(), kit.spawn(ConfigValidator.create()), pool, injector, null,
                Map.of("cpu-0", trainer), data, events, new SweepFolder(folder), new Metric("eval_loss",
                dev.lora4j.sweep.Goal.MINIMIZE), maxRetries, 0, false, new AtomicBoolean(), slots);
    }

    /** An injector that hands out models without weights (the stand-in trainer never reads them). */
    static ActorRef<ModelInjector.Command> fakeInjector() {
        return kit.spawn(Behaviors.receive(ModelInjector.Command.class)
                .onMessage(ModelInjector.Inject.class, m -> {
                    m.replyTo().tell(new ModelInjector.Injected(new TrialModel(m.spec(), m.slot(),
                            new ModelInjector.BaseKey("m", TaskType.CAUSAL_LM, "cpu"), null, null)));
                    return Behaviors.same();
                })
                .onMessage(ModelInjector.Done.class, m -> Behaviors.same())
                .build());
    }

    @Test
    void outOfMemoryRetriesWithHalfTheBatchAndTwiceTheAccumulation(@TempDir Path tmp) throws Exception {
        List<Integer> batchSizes = new CopyOnWriteArrayList<>();
        DataOpener data = (spec, base, batch) -> {
            batchSizes.add(batch);
            return CompletableFuture.completedFuture(new TrialData(null, List.of(), new Objective.CausalLm()));
        };
        // out of memory until the micro-batch is 2
        ActorRef<Trainer.Command> trainer = kit.spawn(Behaviors.receive(Trainer.Command.class)
                .onMessage(Trainer.Train.class, m -> {
                    if (m.settings().gradientAccumulation() < 4) {
                        m.replyTo().tell(new Trainer.Crashed(m.model(), "DefaultCPUAllocator: can't allocate memory",
                                true, 0, null));
                    } else {
                        m.replyTo().tell(new Trainer.Completed(m.model(), TrialResult.Status.FINISHED,
                                Map.of("eval_loss", 1.5), 4, 1, null, null, null));
                    }
                    return Behaviors.same();
                }).build());
        TestProbe<TrialEvent> events = kit.createTestProbe();
        Stages stages = new Stages(context(fakeInjector(), trainer, data, events.getRef(), tmp, 0, 1));
        TrialResult r = Source.single(spec(1, 8, 1)).via(stages.all(1)).runWith(Sink.head(), kit.system())
                .toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertEquals(TrialResult.Status.FINISHED, r.status());
        assertEquals(3, r.attempts());
        assertEquals(List.of(8, 4, 2), batchSizes, "each retry halves the micro-batch");
        List<TrialEvent> seen = events.receiveSeveralMessages(4); // queued, retried twice, finished
        List<TrialEvent.Retried> retries = seen.stream().filter(e -> e instanceof TrialEvent.Retried)
                .map(e -> (TrialEvent.Retried) e).toList();
        assertEquals(List.of(4, 2), retries.stream().map(TrialEvent.Retried::batchSize).toList());
        assertEquals(List.of(2, 4), retries.stream().map(TrialEvent.Retried::accumulation).toList());
    }

    @Test
    void otherFailuresRetryUpToMaxFailuresThenFail(@TempDir Path tmp) throws Exception {
        AtomicInteger trains = new AtomicInteger();
        ActorRef<Trainer.Command> trainer = kit.spawn(Behaviors.receive(Trainer.Command.class)
                .onMessage(Trainer.Train.class, m -> {
                    trains.incrementAndGet();
                    m.replyTo().tell(new Trainer.Crashed(m.model(), "loss is NaN at step 3", false, 3, null));
                    return Behaviors.same();
                }).build());
        DataOpener data = (spec, base, batch) -> CompletableFuture.completedFuture(
                new TrialData(null, List.of(), new Objective.CausalLm()));
        Stages stages = new Stages(context(fakeInjector(), trainer, data, kit.createTestProbe(TrialEvent.class)
                .getRef(), tmp, 2, 1));
        TrialResult r = Source.single(spec(1, 4, 1)).via(stages.all(1)).runWith(Sink.head(), kit.system())
                .toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertEquals(TrialResult.Status.FAILED, r.status());
        assertEquals("loss is NaN at step 3", r.reason());
        assertEquals(3, trains.get(), "one try plus max_failures=2 retries");
    }

    @Test
    void aHugeSweepIsPulledOnlyAsSlotsFree(@TempDir Path tmp) throws Exception {
        AtomicInteger pulled = new AtomicInteger();
        Iterator<TrialSpec> specs = new Iterator<>() {
            long i;

            @Override
            public boolean hasNext() {
                return i < 10_000;
            }

            @Override
            public TrialSpec next() {
                pulled.incrementAndGet();
                return spec(i++, 4, 1);
            }
        };
        // a trainer that never answers: both slots stay busy forever
        TestProbe<Trainer.Command> trainer = kit.createTestProbe();
        DataOpener data = (spec, base, batch) -> CompletableFuture.completedFuture(
                new TrialData(null, List.of(), new Objective.CausalLm()));
        Stages stages = new Stages(context(fakeInjector(), trainer.getRef(), data,
                kit.createTestProbe(TrialEvent.class).getRef(), tmp, 0, 2));
        Source.fromIterator(() -> specs).via(stages.all(2)).runWith(Sink.ignore(), kit.system());
        trainer.receiveSeveralMessages(2);
        trainer.expectNoMessage(Duration.ofMillis(500));
        assertTrue(pulled.get() < 40, "pulled " + pulled.get() + " of 10,000 trials with 2 slots busy");
    }

}
