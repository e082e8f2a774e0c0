/**
 * lora4j's public API: {@link dev.lora4j.api.Lora4j} (on an actor system of its own or the app's), a
 * {@link dev.lora4j.api.Sweep} prepared from a {@link dev.lora4j.api.SweepBuilder} or a sweep file and started into
 * a {@link dev.lora4j.api.SweepHandle}, its {@link dev.lora4j.api.SweepReport}, a {@link dev.lora4j.api.Pipeline}
 * whose {@link dev.lora4j.api.Stages} an app streams its own trials through, and the one-call
 * {@link dev.lora4j.api.Engine} jobs. Events, results and failures are in {@code dev.lora4j.api.trial}. Classes of
 * this package that are not public are internal.
 */
package dev.lora4j.api;
