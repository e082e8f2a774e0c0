package dev.lora4j.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.lora4j.Fixtures;
import dev.lora4j.api.trial.Failure;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.lora.Adapter;
import dev.lora4j.model.HfModels;
import dev.lora4j.runtime.Torch;
import dev.lora4j.sweep.TrialSpec;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class ModelInjectorTest {
    static final ActorTestKit kit = ActorTestKit.create(ManualTime.config().withFallback(ConfigFactory.load()));
    static final ManualTime time = ManualTime.get(kit.system());
    static final Duration WAIT = Duration.ofSeconds(30);

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
    }

    static TestProbe<ModelInjector.Status> status = kit.createTestProbe();

    static ModelInjector.Status status(ActorRef<ModelInjector.Command> injector) {
        injector.tell(new ModelInjector.GetStatus(status.getRef()));
        return status.receiveMessage();
    }

    @Test
    void loadsEachBaseOnceSharesItAndLetsGoWhenIdle() {
        int before = Torch.liveArrays();
        AtomicInteger loads = new AtomicInteger();
        ModelInjector.Loader loader = (key, spec) -> {
            loads.incrementAndGet();
            return HfModels.load(Fixtures.tinyLlama("s2").resolve("model"));
        };
        ActorRef<ModelInjector.Command> injector = kit.spawn(ModelInjector.create(loader,
                (base, spec) -> Adapter.create(base, spec.lora(), 1), Duration.ofSeconds(30)));
        TestProbe<ModelInjector.InjectResult> probe = kit.createTestProbe();
        TrialSpec t1 = Specs.trial("t1", LoraConfig.builder().targetModules("q_proj").build());
        TrialSpec t2 = Specs.trial("t2", LoraConfig.builder().targetModules("v_proj").build());
        injector.tell(new ModelInjector.Inject(t1, "cpu", probe.getRef()));
        injector.tell(new ModelInjector.Inject(t2, "cpu", probe.getRef()));
        TrialModel m1 = assertInstanceOf(ModelInjector.Injected.class, probe.receiveMessage(WAIT)).model();
        TrialModel m2 = assertInstanceOf(ModelInjector.Injected.class, probe.receiveMessage(WAIT)).model();
        assertSame(m1.base(), m2.base(), "one base per device");
        assertEquals(1, loads.get());
        assertEquals(2, status(injector).trials().values().iterator().next());
        m1.release();
        m2.release();
        probe.awaitAssert(() -> {
            assertEquals(0, status(injector).trials().values().iterator().next());
            return null;
        });
        time.timePasses(Duration.ofSeconds(31));
        assertTrue(status(injector).trials().isEmpty(), "let go once idle");
        assertEquals(before, Torch.liveArrays(), "the base and both adapters were freed");
    }

    @Test
    void aBaseOutlivesTheInjectorWhileATrialHoldsIt() {
        ActorRef<ModelInjector.Command> injector = kit.spawn(ModelInjector.create(
                (key, spec) -> HfModels.load(Fixtures.tinyLlama("s2").resolve("model")),
                (base, spec) -> Adapter.create(base, spec.lora(), 1), Duration.ZERO));
        TestProbe<ModelInjector.InjectResult> probe = kit.createTestProbe();
        injector.tell(new ModelInjector.Inject(Specs.trial("held", LoraConfig.builder().targetModules("q_proj")
                .build()), "cpu", probe.getRef()));
        TrialModel m = assertInstanceOf(ModelInjector.Injected.class, probe.receiveMessage(WAIT)).model();
        int live = Torch.liveArrays();
        kit.stop(injector);
        TestProbe<Object> watcher = kit.createTestProbe();
        watcher.expectTerminated(injector);
        assertEquals(live, Torch.liveArrays(), "a lane may still compute with it: nothing was freed");
        assertTrue(m.base().manager().isOpen());
        m.release();
        assertTrue(Torch.liveArrays() < live, "the last holder freed it");
        assertTrue(!m.base().manager().isOpen());
    }

    @Test
    void aConfigThatDoesNotFitFailsThatTrialOnly() {
        ActorRef<ModelInjector.Command> injector = kit.spawn(ModelInjector.create(
                (key, spec) -> HfModels.load(Fixtures.tinyLlama("s2").resolve("model")),
                (base, spec) -> Adapter.create(base, spec.lora(), 1), Duration.ZERO));
        TestProbe<ModelInjector.InjectResult> probe = kit.createTestProbe();
        injector.tell(new ModelInjector.Inject(Specs.trial("bad", LoraConfig.builder().targetModules("nope").build()),
                "cpu", probe.getRef()));
        ModelInjector.InjectFailed f = assertInstanceOf(ModelInjector.InjectFailed.class,
                probe.receiveMessage(WAIT));
        assertInstanceOf(Failure.BadConfig.class, f.failure());
        assertTrue(f.failure().message().startsWith("Target modules {'nope'} not found"), f.failure().message());
    }
}
