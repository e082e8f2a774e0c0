package dev.lora4j.dashboard;

import dev.lora4j.api.SweepReport;
import dev.lora4j.api.trial.TrialEvent;
import dev.lora4j.sweep.SweepSpec;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;

/**
 * What the dashboard serves: a sweep running in this process (it may stop trials and the sweep) or a run folder
 * read from its files (read-only).
 */
public interface LiveSweep {
    /** The run folder. */
    Path folder();

    /**
     * A new subscription: the state of every trial first, then live events, with the hub's drop rules (a slow
     * subscriber loses progress events, never lifecycle events, and never slows the sweep); completes when the
     * sweep ends.
     */
    Source<TrialEvent, NotUsed> events();

    /** Completes when the sweep has ended (at once for a folder no sweep of this process runs). */
    CompletionStage<SweepReport> ended();

    /** The final report once the sweep ended. */
    Optional<SweepReport> finalReport();

    /**
     * The sweep's spec: a running sweep's own; a folder's when its sweep.yaml reads where it lies now (its paths are
     * relative to where it was written), else empty.
     */
    Optional<SweepSpec> spec();

    /** Whether this process only reads the folder: no stop, no cancel. */
    boolean readOnly();

    /** Stops one trial for good, after a checkpoint (recorded as stopped by the user). */
    void stop(String trialId);

    /** Cancels the sweep gracefully, as Ctrl-C once. */
    void cancel();
}
