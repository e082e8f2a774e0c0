package dev.lora4j.actors;

import dev.lora4j.Fixtures;
import dev.lora4j.api.trial.TrialEvent;
import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.HfModels;
import dev.lora4j.sweep.TrialSpec;
import dev.lora4j.train.Objective;
import dev.lora4j.train.TrialData;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * The actors a trial session works with, on stand-in engine parts: the real device pool (lanes run {@link FakeRuns}),
 * the real model injector (the tiny Llama fixture as the base, no adapter tensors) and a data loader whose data is
 * empty. Sessions are spawned on the blocking dispatcher, as the coordinator does.
 */
public final class Rig {
    public final ActorTestKit kit;
    public final FakeRuns runs;
    public final ActorRef<DevicePool.Command> pool;
    public final ActorRef<ModelInjector.Command> injector;
    public final ActorRef<DataLoader.Command> data;
    public final AtomicInteger baseLoads = new AtomicInteger();
    public final TestProbe<TrialEvent> events;

    public Rig(ActorTestKit kit, FakeRuns runs) {
        this(kit, runs, (key, spec) -> HfModels.load(Fixtures.tinyLlama("s2").resolve("model")));
    }

    public Rig(ActorTestKit kit, FakeRuns runs, ModelInjector.Loader loader) {
        this.kit = kit;
        this.runs = runs;
        this.pool = kit.spawn(Behaviors.supervise(DevicePool.create(runs)).onFailure(SupervisorStrategy.restart()));
        this.injector = kit.spawn(Behaviors.supervise(ModelInjector.create((key, spec) -> {
            baseLoads.incrementAndGet();
            return loader.load(key, spec);
        }, (base, spec) -> null, Duration.ZERO)).onFailure(SupervisorStrategy.restart()));
        this.data = kit.spawn(Behaviors.supervise(DataLoader.create(Rig::emptyData))
                .onFailure(SupervisorStrategy.restart()));
        this.events = kit.createTestProbe();
    }

    static TrialData emptyData(TrialSpec spec, BaseModel base, int batchSize) {
        return new TrialData(null, List.of(), new Objective.CausalLm());
    }

    public TrialSession.Services services() {
        return new TrialSession.Services(pool, injector, data);
    }

    /** One CPU device with {@code lanes} lanes of {@code trialsPerLane} trials. */
    public TrialSession.Plan plan(int lanes, int trialsPerLane, int maxRetries, boolean resume) {
        return new TrialSession.Plan(services(), List.of(new DevicePool.DeviceLayout("cpu", lanes, trialsPerLane, 1)),
                "eval_loss", false, maxRetries, 0, resume, null, events.getRef());
    }

    public ActorRef<TrialSession.Command> session(TrialSpec spec, TrialSession.Plan plan, TrialFiles files,
            ActorRef<TrialResult> reportTo) {
        return kit.spawn(TrialSession.create(spec, List.of(), plan, files, false, reportTo),
                "trial-" + spec.id() + "-" + System.nanoTime(), DispatcherSelector.blocking());
    }

    public static TrialFiles folder(Path dir, String id) {
        return new TrialFolder(dir.resolve("trials").resolve(id));
    }
}
