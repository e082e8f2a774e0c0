package dev.lora4j.pipeline;

import dev.lora4j.actors.ConfigValidator;
import dev.lora4j.actors.DevicePool;
import dev.lora4j.actors.DeviceSlot;
import dev.lora4j.actors.Failures;
import dev.lora4j.actors.ModelInjector;
import dev.lora4j.actors.Trainer;
import dev.lora4j.actors.TrialEvent;
import dev.lora4j.actors.TrialModel;
import dev.lora4j.actors.TrialResult;
import dev.lora4j.sweep.Goal;
import dev.lora4j.sweep.TrialSpec;
import dev.lora4j.train.RunFolder;
import dev.lora4j.train.TrialRun;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.stream.javadsl.Flow;

/**
 * The sweep pipeline's stages, each a {@link Flow} an app can compose on its own:
 * {@code validate -> lease -> inject -> train}. Trials that end early (rejected, not loadable) travel on as
 * {@link Step.Done} results. {@code lease} waits while every device slot is busy, which backpressures everything
 * before it, so a sweep of any size holds only its running trials in memory.
 */
public final class Stages {
    private final SweepContext c;

    public Stages(SweepContext context) {
        this.c = context;
    }

    /** The whole pipeline with {@code slots} trials in flight. */
    public Flow<TrialSpec, TrialResult, NotUsed> all(int slots) {
        return validate(slots).via(lease(slots)).via(inject(slots)).via(train(slots));
    }

    /** Checks each trial (and announces it); invalid ones become {@code REJECTED} results. */
    public Flow<TrialSpec, Step<TrialSpec>, NotUsed> validate(int parallelism) {
        return Flow.<TrialSpec>create().mapAsync(parallelism, spec -> {
            c.events().tell(new TrialEvent.Queued(spec.id(), spec.name(), spec.index()));
            return AskPattern.<ConfigValidator.Command, ConfigValidator.Verdict>ask(c.validator(),
                    r -> new ConfigValidator.Validate(spec, r), SweepContext.SHORT, c.system().scheduler())
                    .thenApply(v -> {
                        if (v instanceof ConfigValidator.Rejected rej) {
                            c.events().tell(new TrialEvent.Rejected(spec.id(), spec.name(), rej.errors()));
                            return Step.<TrialSpec>done(new TrialResult(spec.id(), spec.name(), spec.index(),
                                    spec.parameters(), TrialResult.Status.REJECTED, Map.of(), 0, 0, null, null,
                                    "invalid config", rej.errors(), 0));
                        }
                        return Step.next(spec);
                    });
        });
    }

    /** A trial and the device slot it holds until it ends. */
    public record Leased(TrialSpec spec, DeviceSlot slot) {}

    /** Waits for a free device slot. */
    public Flow<Step<TrialSpec>, Step<Leased>, NotUsed> lease(int parallelism) {
        return Flow.<Step<TrialSpec>>create().mapAsync(parallelism, step -> {
            if (step instanceof Step.Done<TrialSpec> d) {
                return CompletableFuture.completedFuture(Step.<Leased>done(d.result()));
            }
            TrialSpec spec = ((Step.Next<TrialSpec>) step).value();
            return AskPattern.<DevicePool.Command, DevicePool.Leased>ask(c.pool(),
                    r -> new DevicePool.Lease(spec.id(), r), SweepContext.LONG, c.system().scheduler())
                    .thenApply(l -> Step.next(new Leased(spec, l.slot())));
        });
    }

    /** Loads (or shares) the base model on the slot's device and creates the trial's adapter. */
    public Flow<Step<Leased>, Step<TrialModel>, NotUsed> inject(int parallelism) {
        return Flow.<Step<Leased>>create().mapAsyncUnordered(parallelism, step -> {
            if (step instanceof Step.Done<Leased> d) {
                return CompletableFuture.completedFuture(Step.<TrialModel>done(d.result()));
            }
            Leased l = ((Step.Next<Leased>) step).value();
            if (c.cancelled().get()) {
                c.pool().tell(new DevicePool.Release(l.slot()));
                return CompletableFuture.completedFuture(Step.<TrialModel>done(cancelledBeforeStart(l.spec())));
            }
            return injectOnce(l.spec(), l.slot()).thenApply(r -> {
                if (r instanceof ModelInjector.Injected i) {
                    return Step.next(i.model());
                }
                ModelInjector.InjectFailed f = (ModelInjector.InjectFailed) r;
                c.pool().tell(new DevicePool.Release(l.slot()));
                c.events().tell(new TrialEvent.Failed(l.spec().id(), l.spec().name(), f.reason(), 0));
                return Step.<TrialModel>done(failed(l.spec(), f.reason(), 0, null, 1));
            });
        });
    }

    private CompletionStage<ModelInjector.InjectResult> injectOnce(TrialSpec spec, DeviceSlot slot) {
        return AskPattern.<ModelInjector.Command, ModelInjector.InjectResult>ask(c.injector(),
                r -> new ModelInjector.Inject(spec, slot, r), SweepContext.LONG, c.system().scheduler());
    }

    /** Trains, retrying failures (out of memory: half the micro-batch, twice the accumulation), then frees the slot. */
    public Flow<Step<TrialModel>, TrialResult, NotUsed> train(int parallelism) {
        return Flow.<Step<TrialModel>>create().mapAsyncUnordered(parallelism, step -> {
            if (step instanceof Step.Done<TrialModel> d) {
                return CompletableFuture.completedFuture(d.result());
            }
            TrialModel m = ((Step.Next<TrialModel>) step).value();
            DeviceSlot slot = m.slot();
            return attempt(m, 1, m.spec().training().batchSize(), m.spec().training().gradientAccumulationSteps(), 0)
                    .whenComplete((r, e) -> c.pool().tell(new DevicePool.Release(slot)))
                    .thenApply(r -> {
                        c.events().tell(new TrialEvent.Finished(r.trialId(), r));
                        return r;
                    });
        });
    }

    private CompletionStage<TrialResult> attempt(TrialModel m, int attempt, int batchSize, int accumulation,
            int oomBackoffs) {
        TrialSpec spec = m.spec();
        if (c.cancelled().get()) {
            c.injector().tell(new ModelInjector.Done(m));
            return CompletableFuture.completedFuture(cancelledBeforeStart(spec));
        }
        RunFolder folder = c.folder().trial(spec.id());
        // the trial's files and its last checkpoint: disk work, so off the stream's (default) dispatcher
        return CompletableFuture.supplyAsync(() -> {
            folder.writeParams(params(spec));
            folder.writeTrainConfig(trainConfig(spec));
            return c.resume() || attempt > 1 ? c.folder().lastCheckpoint(spec.id()).orElse(null) : null;
        }, c.system().dispatchers().lookup(DispatcherSelector.blocking()))
                .thenCompose(resume -> train(m, attempt, batchSize, accumulation, oomBackoffs, folder, resume));
    }

    private CompletionStage<TrialResult> train(TrialModel m, int attempt, int batchSize, int accumulation,
            int oomBackoffs, RunFolder folder, Path resume) {
        TrialSpec spec = m.spec();
        boolean maximize = c.metric().goal() == Goal.MAXIMIZE;
        TrialRun.Settings settings = TrialRun.Settings.of(spec.training(), c.metric().name(), maximize)
                .withAccumulation(accumulation);
        int keep = c.keepCheckpoints() > 0 ? c.keepCheckpoints() : spec.training().saveTotalLimit().orElse(0);
        return c.data().open(spec, m.base(), batchSize)
                .thenCompose(data -> AskPattern.<Trainer.Command, Trainer.Outcome>ask(
                        c.trainers().get(m.slot().trainerName()),
                        r -> new Trainer.Train(m, data, settings, folder, resume, keep, c.events(), r),
                        SweepContext.LONG, c.system().scheduler()))
                .handle((outcome, error) -> {
                    if (error != null) {
                        return new Trainer.Crashed(m, Failures.describe(error), Failures.isOutOfMemory(error), 0,
                                resume);
                    }
                    return outcome;
                })
                .thenCompose(outcome -> {
                    if (outcome instanceof Trainer.Completed done) {
                        c.injector().tell(new ModelInjector.Done(m));
                        if (done.status() == TrialResult.Status.STOPPED) {
                            c.events().tell(new TrialEvent.Stopped(spec.id(), spec.name(), done.steps(),
                                    done.reason()));
                        }
                        return CompletableFuture.completedFuture(new TrialResult(spec.id(), spec.name(),
                                spec.index(), spec.parameters(), done.status(), done.metrics(), done.steps(),
                                done.seconds(), done.adapter(), done.lastCheckpoint(), done.reason(), List.of(),
                                attempt));
                    }
                    Trainer.Crashed crash = (Trainer.Crashed) outcome;
                    c.injector().tell(new ModelInjector.Done(m));
                    boolean backoff = crash.outOfMemory() && batchSize > 1 && oomBackoffs < 3;
                    boolean retry = !c.cancelled().get() && (backoff || attempt <= c.maxRetries());
                    if (!retry) {
                        c.events().tell(new TrialEvent.Failed(spec.id(), spec.name(), crash.reason(), crash.step()));
                        return CompletableFuture.completedFuture(failed(spec, crash.reason(), crash.step(),
                                crash.lastCheckpoint(), attempt));
                    }
                    int nextBatch = backoff ? Math.max(1, batchSize / 2) : batchSize;
                    int nextAccumulation = backoff ? accumulation * 2 : accumulation;
                    c.events().tell(new TrialEvent.Retried(spec.id(), spec.name(), attempt + 1, crash.reason(),
                            nextBatch, nextAccumulation));
                    return injectOnce(spec, m.slot()).thenCompose(r -> {
                        if (r instanceof ModelInjector.Injected i) {
                            return attempt(i.model(), attempt + 1, nextBatch, nextAccumulation,
                                    backoff ? oomBackoffs + 1 : oomBackoffs);
                        }
                        String reason = ((ModelInjector.InjectFailed) r).reason();
                        c.events().tell(new TrialEvent.Failed(spec.id(), spec.name(), reason, crash.step()));
                        return CompletableFuture.completedFuture(failed(spec, reason, crash.step(),
                                crash.lastCheckpoint(), attempt + 1));
                    });
                });
    }

    private static Map<String, Object> params(TrialSpec spec) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("trial_id", spec.id());
        p.put("name", spec.name());
        p.put("index", spec.index());
        p.put("parameters", spec.parameters());
        p.put("lora", dev.lora4j.config.LoraConfigJson.toTree(spec.lora()));
        p.put("training", spec.training().toTree());
        return p;
    }

    /** The trial as a training config of its own (what {@code bin/lora4j train} reads). */
    static com.fasterxml.jackson.databind.node.ObjectNode trainConfig(TrialSpec spec) {
        var o = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
        o.put("name", spec.name().replaceAll("[^A-Za-z0-9._-]", "_"));
        o.put("model", spec.model().isBuiltin() ? spec.model().text() : spec.model().path().toString());
        o.put("task", spec.task().name());
        o.set("data", spec.data().toTree());
        o.set("training", spec.training().toTree());
        o.set("lora", dev.lora4j.config.LoraConfigJson.toTree(spec.lora()));
        return o;
    }

    private static TrialResult failed(TrialSpec spec, String reason, long step, Path checkpoint, int attempts) {
        return new TrialResult(spec.id(), spec.name(), spec.index(), spec.parameters(), TrialResult.Status.FAILED,
                Map.of(), step, 0, null, checkpoint, reason, List.of(), attempts);
    }

    private TrialResult cancelledBeforeStart(TrialSpec spec) {
        return new TrialResult(spec.id(), spec.name(), spec.index(), spec.parameters(), TrialResult.Status.CANCELLED,
                Map.of(), 0, 0, null, c.folder().lastCheckpoint(spec.id()).orElse(null), "sweep cancelled",
                List.of(), 0);
    }


}
