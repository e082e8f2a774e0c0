package dev.lora4j.sweep;

/** A sweep's {@code early_terminate}: ASHA (Ray Tune's names) or Hyperband (W&B's). */
public sealed interface EarlyTerminate permits Asha, Hyperband {
    /** The {@code type} files use. */
    String json();
}
