package dev.lora4j.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lora4j.api.trial.TrialEvent;
import dev.lora4j.sweep.TrialSpec;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.stream.javadsl.Source;

/**
 * A sweep whose stream the app runs itself: {@link #stages()} are the pipeline's {@code Flow}s, bound to this sweep's
 * run folder, devices and sessions; {@link #trial(Map)} makes trials of the app's own choosing; {@link #events()} is
 * their event stream. {@link #close()} waits for every stream through {@link Stages#run(int)} to complete and every
 * trial it started to end, then writes the leaderboard and frees the run folder; {@link #report()} completes then.
 * Created by {@link Lora4j#pipeline(dev.lora4j.sweep.SweepSpec, SweepOptions)}.
 */
public final class Pipeline implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final SweepRun run;
    private final Stages stages;
    private final ActorRef<SweepCoordinator.Command> coordinator;
    private final AtomicLong trials = new AtomicLong();

    Pipeline(SweepRun run, ActorRef<SweepCoordinator.Command> coordinator) {
        this.run = run;
        this.coordinator = coordinator;
        this.stages = new Stages(run, coordinator);
    }

    /**
     * The pipeline's stages.
     *
     * @return {@code skipEnded -> validate -> run}, or {@code all(n)}, bound to this pipeline
     */
    public Stages stages() {
        return stages;
    }

    /**
     * Trials the sweep's devices train at once.
     *
     * @return the natural parallelism for the stages
     */
    public int slots() {
        return run.slots();
    }

    /**
     * A trial of this sweep with {@code parameters} set on its base run, named as a sweep file's {@code parameters}
     * are ({@code r}, {@code lora_alpha}, {@code learning_rate}, {@code lora.target_modules}, ...); values are
     * numbers, strings, booleans, lists or maps. The id is the hash of the values (the same values, the same trial
     * and folder); two trials with one id in one pipeline are refused (the second is rejected). The name lists the
     * values in one fixed order ({@code r8-alpha16-lr5e-4}), whatever the map's order.
     *
     * @param parameters field name to value
     * @return the trial, ready for {@link Stages#skipEnded()} or {@link Stages#validate(int)}
     * @throws dev.lora4j.config.ConfigException naming {@code parameters.NAME} for an unknown field or a bad value
     */
    public TrialSpec trial(Map<String, ?> parameters) {
        Map<String, JsonNode> values = new LinkedHashMap<>();
        parameters.forEach((k, v) -> values.put(k, JSON.valueToTree(v)));
        return run.spec().trials().with(values, trials.getAndIncrement());
    }

    /**
     * The sweep's events (see {@link Sweep#events()}).
     *
     * @return a source that completes when the pipeline has closed
     */
    public Source<TrialEvent, NotUsed> events() {
        return run.hub().subscribe();
    }

    /**
     * The leaderboard of every trial the stages ran.
     *
     * @return the report, completed once the pipeline has closed
     */
    public CompletionStage<SweepReport> report() {
        return run.report();
    }

    /**
     * Cancels every trial still running or yet to come through the stages (each ends as cancelled, resumable); the
     * pipeline still ends only when it is closed.
     *
     * @return the report, completed once the pipeline has closed
     */
    public CompletionStage<SweepReport> cancel() {
        run.cancelled().set(true);
        coordinator.tell(new SweepCoordinator.Cancel("pipeline cancelled"));
        return run.report();
    }

    /**
     * Ends the pipeline without waiting: it closes once its streams complete and their trials end.
     *
     * @return the report, completed then
     */
    public CompletionStage<SweepReport> closeAsync() {
        coordinator.tell(new SweepCoordinator.Close());
        return run.report();
    }

    /**
     * Waits until every stream through {@link Stages#run(int)} has completed and its trials have ended, then frees
     * the run folder. A stream that never completes keeps this waiting: cancel it (or the pipeline) first.
     */
    @Override
    public void close() {
        try {
            closeAsync().toCompletableFuture().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            throw new IllegalStateException("the pipeline failed: " + e.getCause(), e.getCause());
        }
    }

    /**
     * As {@link #close()}, for at most {@code timeout}.
     *
     * @param timeout how long to wait
     * @return whether the pipeline closed within it
     */
    public boolean close(Duration timeout) {
        try {
            closeAsync().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (ExecutionException | TimeoutException e) {
            return false;
        }
    }
}
