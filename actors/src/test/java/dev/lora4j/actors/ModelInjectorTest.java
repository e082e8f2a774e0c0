package dev.lora4j.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.lora4j.Fixtures;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.lora.Adapter;
import dev.lora4j.model.HfModels;
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

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
    }

    @Test
    void loadsEachBaseOnceSharesItAndClosesItWhenIdle() {
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
        DeviceSlot slot = new DeviceSlot("cpu", 0, 0, 1);
        injector.tell(new ModelInjector.Inject(t1, slot, probe.getRef()));
        injector.tell(new ModelInjector.Inject(t2, slot, probe.getRef()));
        TrialModel m1 = assertInstanceOf(ModelInjector.Injected.class, probe.receiveMessage(Duration.ofSeconds(30)))
                .model();
        TrialModel m2 = assertInstanceOf(ModelInjector.Injected.class, probe.receiveMessage(Duration.ofSeconds(30)))
                .model();
        assertSame(m1.base(), m2.base(), "one base per device");
        assertEquals(1, loads.get());
        injector.tell(new ModelInjector.Done(m1));
        injector.tell(new ModelInjector.Done(m2));
        TestProbe<ModelInjector.Status> status = kit.createTestProbe();
        injector.tell(new ModelInjector.GetStatus(status.getRef()));
        assertEquals(0, status.receiveMessage().references().values().iterator().next());
        time.timePasses(Duration.ofSeconds(31));
        injector.tell(new ModelInjector.GetStatus(status.getRef()));
        assertTrue(status.receiveMessage().references().isEmpty(), "freed once idle");
    }

    @Test
    void aConfigThatDoesNotFitFailsThatTrialOnly() {
        ActorRef<ModelInjector.Command> injector = kit.spawn(ModelInjector.create(
                (key, spec) -> HfModels.load(Fixtures.tinyLlama("s2").resolve("model")),
                (base, spec) -> Adapter.create(base, spec.lora(), 1), Duration.ZERO));
        TestProbe<ModelInjector.InjectResult> probe = kit.createTestProbe();
        injector.tell(new ModelInjector.Inject(Specs.trial("bad", LoraConfig.builder().targetModules("nope").build()),
                new DeviceSlot("cpu", 0, 0, 1), probe.getRef()));
        ModelInjector.InjectFailed f = assertInstanceOf(ModelInjector.InjectFailed.class,
                probe.receiveMessage(Duration.ofSeconds(30)));
        assertTrue(f.reason().startsWith("Target modules {'nope'} not found"), f.reason());
    }
}
