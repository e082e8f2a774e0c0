package dev.lora4j.sweep;

/** A sweep's {@code early_terminate}: ASHA (Ray Tune's names), Hyperband (W&B's), or
 * population-based training (Ray Tune's {@code scheduler: {type: pbt}}). */
public sealed interface EarlyTerminate permits Asha, Hyperband, Pbt {
    /** The {@code type} files use. */
    String json();
}
