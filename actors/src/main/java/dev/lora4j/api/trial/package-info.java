/**
 * What happens to trials, as an app sees it: {@link dev.lora4j.api.trial.TrialEvent}s on a sweep's event stream,
 * each trial's {@link dev.lora4j.api.trial.TrialResult} (its {@code result.json}), and the
 * {@link dev.lora4j.api.trial.Failure} kinds. Part of lora4j's public API with {@code dev.lora4j.api}; it lives in the
 * actors module because the actors produce these values.
 */
package dev.lora4j.api.trial;
