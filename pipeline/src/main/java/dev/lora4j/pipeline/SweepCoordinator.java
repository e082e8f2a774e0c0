package dev.lora4j.pipeline;

import dev.lora4j.actors.AshaScheduler;
import dev.lora4j.actors.Checkpointer;
import dev.lora4j.actors.ConfigValidator;
import dev.lora4j.actors.DataLoader;
import dev.lora4j.actors.DevicePool;
import dev.lora4j.actors.ModelInjector;
import dev.lora4j.actors.Trainer;
import dev.lora4j.actors.TrialResult;
import dev.lora4j.lora.Adapter;
import dev.lora4j.model.HfModels;
import dev.lora4j.runtime.Torch;
import dev.lora4j.sweep.Goal;
import dev.lora4j.sweep.SweepSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * One sweep's lifecycle. It starts the actors the sweep runs on (as its children, so they stop with it), runs the
 * pipeline stream over the lazily expanded trials, keeps the leaderboard file current as trials end, and completes
 * the report. A failing trial is a result, never a reason to stop; cancelling stops every trial at a step boundary
 * after a checkpoint and releases devices and models.
 */
public final class SweepCoordinator extends AbstractBehavior<SweepCoordinator.Command> {

    public sealed interface Command {}

    /** Graceful: no new trials, running ones checkpoint and stop. {@code now}: abort the stream as well. */
    public record Cancel(boolean now) implements Command {}

    private record TrialDone(TrialResult result) implements Command {}

    private record StreamDone(Throwable error) implements Command {}

    public static Behavior<Command> create(SweepSpec spec, SweepOptions options, DataOpener data, EventHub hub,
            CompletableFuture<SweepReport> report) {
        return Behaviors.setup(ctx -> new SweepCoordinator(ctx, spec, options, data, hub, report, null));
    }

    /**
     * The sweep's actors without the stream: {@code ready} completes with their context, for apps that compose
     * their own pipeline from {@link Stages}. The actors live until {@link Stop}.
     */
    static Behavior<Command> actorsOnly(SweepSpec spec, SweepOptions options, EventHub hub,
            CompletableFuture<SweepContext> ready) {
        return Behaviors.setup(ctx -> new SweepCoordinator(ctx, spec, options, null, hub, new CompletableFuture<>(),
                ready));
    }

    /** Stops the sweep's actors (their bases and tokenizers are freed). */
    public record Stop() implements Command {}

    private final SweepSpec spec;
    private final EventHub hub;
    private final CompletableFuture<SweepReport> report;
    private final SweepContext context;
    private final UniqueKillSwitch killSwitch;
    private final List<TrialResult> results = new ArrayList<>();
    private final long started = System.nanoTime();

    private SweepCoordinator(ActorContext<Command> ctx, SweepSpec spec, SweepOptions options, DataOpener data,
            EventHub hub, CompletableFuture<SweepReport> report, CompletableFuture<SweepContext> actorsOnly) {
        super(ctx);
        this.spec = spec;
        this.hub = hub;
        this.report = report;
        List<DevicePool.DeviceLayout> layout = Devices.layout(spec.base().resources(), options.cpuLanes(),
                options.cpuThreadsPerLane(),
                Runtime.getRuntime().availableProcessors());
        boolean maximize = spec.metric().goal() == Goal.MAXIMIZE;
        Trainer.StopRule stopRule = spec.earlyTerminate().map(a -> {
            // rungs count evaluations: rung k is at grace * eta^k evaluations of eval_steps each
            long every = spec.base().training().evalSteps().orElse(1);
            long maxT = a.maxT().isPresent() ? a.maxT().getAsInt() * every : Long.MAX_VALUE / 4;
            return (Trainer.StopRule) new AshaScheduler(a.gracePeriod() * every, a.reductionFactor(), maxT,
                    spec.metric().name(), maximize);
        }).orElse(null);
        var validator = ctx.spawn(Behaviors.supervise(ConfigValidator.create()).onFailure(SupervisorStrategy.restart()),
                "validator");
        var pool = ctx.spawn(DevicePool.create(layout), "devices");
        var injector = ctx.spawn(ModelInjector.create(
                (key, s) -> HfModels.load(s.model(), s.task(), Torch.device(key.device()),
                        s.training().precision()),
                (base, s) -> Adapter.create(base, s.lora(), s.training().seed()), options.modelIdleRelease()),
                "models");
        var checkpointer = ctx.spawn(Behaviors.supervise(Checkpointer.create()).onFailure(SupervisorStrategy.restart()),
                "checkpointer", DispatcherSelector.blocking());
        Map<String, ActorRef<Trainer.Command>> trainers = new LinkedHashMap<>();
        for (DevicePool.DeviceLayout d : layout) {
            for (int lane = 0; lane < d.lanes(); lane++) {
                String name = new dev.lora4j.actors.DeviceSlot(d.device(), lane, 0, d.threadsPerLane()).trainerName();
                trainers.put(name, ctx.spawn(Trainer.create(d.threadsPerLane(), checkpointer, stopRule),
                        "trainer-" + name, DispatcherSelector.fromConfig("lora4j.trainer-dispatcher")));
            }
        }
        if (data == null) {
            data = loaderOpener(ctx.spawn(DataLoader.create(), "data"), ctx.getSystem());
        }
        int slots = layout.stream().mapToInt(d -> d.lanes() * d.trialsPerLane()).sum();
        this.context = new SweepContext(ctx.getSystem(), validator, pool, injector, checkpointer, Map.copyOf(trainers),
                data, hub.input(), new SweepFolder(options.folder()), spec.metric(),
                spec.base().resources().maxFailures().orElse(0), options.keepCheckpoints(), options.resume(),
                new AtomicBoolean(), slots);
        if (actorsOnly != null) {
            this.killSwitch = null;
            actorsOnly.complete(context);
            return;
        }
        ActorRef<Command> self = ctx.getSelf();
        Pair<UniqueKillSwitch, java.util.concurrent.CompletionStage<org.apache.pekko.Done>> run =
                Source.fromIterator(() -> spec.trials().iterator())
                        .viaMat(KillSwitches.single(), Keep.right())
                        .via(new Stages(context).all(slots))
                        .toMat(Sink.foreach(r -> self.tell(new TrialDone(r))), Keep.both())
                        .run(ctx.getSystem());
        this.killSwitch = run.first();
        ctx.pipeToSelf(run.second(), (done, error) -> new StreamDone(error));
    }

    /** Trials get their data from the sweep's {@link DataLoader}, with the tokenizer of their base model. */
    static DataOpener loaderOpener(ActorRef<DataLoader.Command> loader, org.apache.pekko.actor.typed.ActorSystem<?> sys) {
        return (spec, base, batchSize) -> AskPattern.<DataLoader.Command, DataLoader.Opened>ask(loader,
                r -> new DataLoader.Open(spec, base.folder().orElseThrow(() -> new IllegalStateException(
                        "a sweep's base model comes from a folder")), base.config().intOr("pad_token_id", 0),
                        batchSize, r),
                SweepContext.LONG, sys.scheduler())
                .thenApply(o -> {
                    if (o instanceof DataLoader.Ready r) {
                        return r.data();
                    }
                    throw new IllegalArgumentException(((DataLoader.OpenFailed) o).reason());
                });
    }

    public SweepContext context() {
        return context;
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(TrialDone.class, this::onTrialDone)
                .onMessage(Cancel.class, this::onCancel)
                .onMessage(StreamDone.class, this::onStreamDone)
                .onMessage(Stop.class, m -> {
                    hub.complete();
                    return Behaviors.stopped();
                })
                .build();
    }

    private Behavior<Command> onTrialDone(TrialDone m) {
        results.add(m.result());
        context.folder().writeLeaderboard(currentReport());
        return this;
    }

    private Behavior<Command> onCancel(Cancel m) {
        if (!context.cancelled().getAndSet(true)) {
            getContext().getLog().info("sweep {}: cancelling", spec.name());
            if (killSwitch != null) {
                killSwitch.shutdown();
            }
            context.trainers().values().forEach(t -> t.tell(new Trainer.CancelAll()));
        }
        if (m.now() && killSwitch != null) {
            killSwitch.abort(new java.util.concurrent.CancellationException("sweep cancelled"));
        }
        return this;
    }

    private Behavior<Command> onStreamDone(StreamDone m) {
        SweepReport r = currentReport();
        context.folder().writeLeaderboard(r);
        hub.complete();
        if (m.error() != null && !context.cancelled().get()) {
            report.completeExceptionally(m.error());
        } else {
            report.complete(r);
        }
        return Behaviors.stopped();
    }

    private SweepReport currentReport() {
        return new SweepReport(spec.name(), spec.metric(), results,
                Duration.ofNanos(System.nanoTime() - started), context.cancelled().get());
    }

}
