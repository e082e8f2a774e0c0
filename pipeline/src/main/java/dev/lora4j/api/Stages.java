package dev.lora4j.api;

import dev.lora4j.actors.ConfigValidator;
import dev.lora4j.actors.StopRule;
import dev.lora4j.actors.TrialFiles;
import dev.lora4j.api.trial.TrialEvent;
import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.config.ConfigError;
import dev.lora4j.sweep.TrialSpec;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.stream.javadsl.Flow;

/**
 * The sweep pipeline's stages, each a {@link Flow} an app can compose on its own:
 * {@code skipEnded -> validate -> run}. {@code run} gives each trial to its own session (an actor that owns it to
 * the end) and emits the trial's one result; its parallelism is the number of trials in flight, and the device pool
 * makes sessions beyond the free lanes wait, which backpressures everything before it, so a sweep of any size holds
 * only its running trials in memory.
 */
public final class Stages {
    /** Validation is a pure check; an answer slower than this is a fault of the validator, not a long job. */
    private static final Duration VALIDATION = Duration.ofSeconds(30);
    private static final int FILE_READS_IN_FLIGHT = 4;

    /**
     * A trial with its validation errors.
     *
     * @param spec the trial
     * @param errors why it is rejected; empty: it may run
     */
    public record Checked(TrialSpec spec, List<ConfigError> errors) {}

    private static final AtomicLong FLOWS = new AtomicLong();

    private final SweepRun run;
    private final ActorRef<SweepCoordinator.Command> coordinator;
    private final ActorSystem<?> system;
    private final Executor blocking;

    Stages(SweepRun run, ActorRef<SweepCoordinator.Command> coordinator) {
        this.run = run;
        this.coordinator = coordinator;
        this.system = run.workers().system();
        this.blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
    }

    /**
     * Trials in flight at once that the sweep's devices can train.
     *
     * @return lanes x trials per lane
     */
    public int slots() {
        return run.slots();
    }

    /**
     * The whole pipeline.
     *
     * @param parallelism trials in flight
     * @return {@code skipEnded -> validate -> run}
     */
    public Flow<TrialSpec, TrialResult, NotUsed> all(int parallelism) {
        return skipEnded().via(validate(parallelism)).via(run(parallelism));
    }

    /**
     * In a resumed sweep, a trial that already ended (finished, stopped, failed, rejected) is kept as it is: no
     * event but its one {@code Ended(kept)}, no file touched; the early-termination rule learns what it reached.
     * Other trials, and every trial of a fresh sweep, pass on.
     *
     * @return the stage
     */
    public Flow<TrialSpec, Step<TrialSpec>, NotUsed> skipEnded() {
        // after a cancel nothing new enters the sweep: the stream stops pulling trials
        Flow<TrialSpec, TrialSpec, NotUsed> open = Flow.<TrialSpec>create().takeWhile(t -> !run.cancelled().get());
        if (!run.options().resume()) {
            return open.map(Step::next);
        }
        return open.mapAsync(FILE_READS_IN_FLIGHT, spec -> CompletableFuture.supplyAsync(() -> {
            TrialFiles files = run.files().of(spec.id());
            Optional<TrialResult> stored = files.readResult().filter(r -> r.status().ended());
            if (stored.isEmpty()) {
                return Step.next(spec);
            }
            TrialResult kept = stored.get().toBuilder().name(spec.name()).index(spec.index())
                    .parameters(spec.parameters()).build();
            StopRule rule = run.plan().stopRule();
            if (rule != null) {
                rule.begin(spec, files, true, true);
                for (Map<String, Double> row : files.progress()) {
                    Double step = row.get("step");
                    if (step != null && row.keySet().stream().anyMatch(k -> k.startsWith("eval_"))) {
                        rule.replay(spec.id(), step.longValue(), row);
                    }
                }
            }
            run.hub().input().tell(new TrialEvent.Ended(kept, true));
            coordinator.tell(new SweepCoordinator.Kept(kept));
            return Step.<TrialSpec>done(kept);
        }, blocking));
    }

    /**
     * Announces each trial and checks it; errors travel with the trial, whose session records the rejection.
     *
     * @param parallelism checks in flight
     * @return the stage
     */
    public Flow<Step<TrialSpec>, Step<Checked>, NotUsed> validate(int parallelism) {
        // once a trial reached metric.target no trial starts; ended ones a resumed sweep reads still pass
        return Flow.<Step<TrialSpec>>create().takeWhile(t -> !run.cancelled().get())
                .filter(t -> t instanceof Step.Done<TrialSpec> || !run.targetReached().get())
                .mapAsync(parallelism, step -> {
            if (step instanceof Step.Done<TrialSpec> d) {
                return CompletableFuture.completedFuture(Step.<Checked>done(d.result()));
            }
            TrialSpec spec = ((Step.Next<TrialSpec>) step).value();
            run.hub().input().tell(new TrialEvent.Queued(spec.id(), spec.name(), spec.index()));
            if (run.cancelled().get()) {
                return CompletableFuture.completedFuture(Step.next(new Checked(spec, List.of())));
            }
            // asked per element (not ActorFlow.ask) so one unanswered check rejects one trial, not the stream
            return AskPattern.<ConfigValidator.Command, ConfigValidator.Verdict>ask(run.workers().validator(),
                    r -> new ConfigValidator.Validate(spec, r), VALIDATION, system.scheduler())
                    .handle((v, error) -> Step.next(new Checked(spec, error != null
                            ? List.of(ConfigError.ofFile("the validator did not answer: " + error))
                            : v instanceof ConfigValidator.Rejected rej ? rej.errors() : List.of())));
        });
    }

    /**
     * Gives each trial to a session of the sweep and emits its result when it ends. The sweep does not end (nor its
     * pipeline close) while a stream through this stage is still running.
     *
     * @param parallelism trials in flight
     * @return the stage
     */
    public Flow<Step<Checked>, TrialResult, NotUsed> run(int parallelism) {
        return Flow.<Step<Checked>>create()
                .filter(t -> t instanceof Step.Done<Checked> || !run.targetReached().get())
                .mapAsyncUnordered(parallelism, step -> {
            if (step instanceof Step.Done<Checked> d) {
                return CompletableFuture.completedFuture(d.result());
            }
            Checked checked = ((Step.Next<Checked>) step).value();
            CompletableFuture<TrialResult> done = new CompletableFuture<>();
            coordinator.tell(new SweepCoordinator.RunTrial(checked.spec(), checked.errors(), done));
            return (CompletionStage<TrialResult>) done;
        }).watchTermination((mat, terminated) -> {
            long flow = FLOWS.incrementAndGet();
            coordinator.tell(new SweepCoordinator.FlowOpened(flow));
            terminated.whenComplete((d, e) -> coordinator.tell(new SweepCoordinator.FlowClosed(flow, e)));
            return mat;
        });
    }
}
