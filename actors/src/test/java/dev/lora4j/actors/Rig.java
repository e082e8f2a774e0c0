package dev.lora4j.actors;

import dev.lora4j.Fixtures;
import dev.lora4j.api.trial.TrialEvent;
import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.HfModels;
import dev.lora4j.sweep.TrialSpec;
import dev.lora4j.train.Objective;
import dev.lora4j.train.TrialData;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
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
    public final ActorRef<LaneHost.Command> host;
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
        this.injector = kit.spawn(Behaviors.supervise(ModelInjector.create((key, spec) -> {
            baseLoads.incrementAndGet();
            return loader.load(key, spec);
        }, (base, spec) -> null, Duration.ZERO)).onFailure(SupervisorStrategy.restart()));
        this.data = kit.spawn(Behaviors.supervise(DataLoader.create(Rig::emptyData))
                .onFailure(SupervisorStrategy.restart()));
        this.host = kit.spawn(LaneHost.create(new LaneHost.Node("local", injector, data, scratch()), runs, List.of(),
                false));
        this.pool = kit.spawn(Behaviors.supervise(DevicePool.create(host)).onFailure(SupervisorStrategy.restart()));
        this.events = kit.createTestProbe();
    }

    /** A node whose injector and loader are probes (for tests of lanes and leases only). */
    public static LaneHost.Node node(ActorTestKit kit, String name) {
        return new LaneHost.Node(name, kit.<ModelInjector.Command>createTestProbe().getRef(),
                kit.<DataLoader.Command>createTestProbe().getRef(), scratch());
    }

    static NodeFiles scratch() {
        try {
            Path dir = Files.createTempDirectory("lora4j-node");
            dir.toFile().deleteOnExit();
            return new NodeFiles(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static TrialData emptyData(TrialSpec spec, BaseModel base, int batchSize) {
        return new TrialData(null, List.of(), new Objective.CausalLm());
    }

    public TrialSession.Services services() {
        return new TrialSession.Services(pool);
    }

    /** One CPU device with {@code lanes} lanes of {@code trialsPerLane} trials. */
    public TrialSession.Plan plan(int lanes, int trialsPerLane, int maxRetries, boolean resume) {
        return new TrialSession.Plan(services(), List.of(new DevicePool.DeviceLayout("cpu", lanes, trialsPerLane, 1)),
                0, "eval_loss", false, maxRetries, 0, resume, null, events.getRef());
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
