package dev.lora4j.runtime;

import ai.djl.pytorch.jni.JniUtils;

/**
 * Autograd on or off for the calling thread, restored on close. libtorch's grad mode is thread-local, so each
 * trainer thread sets its own; DJL's GradientCollector (one per JVM) is never used.
 */
public final class GradMode implements AutoCloseable {
    private final boolean previous;

    private GradMode(boolean enabled) {
        Torch.engine();
        previous = JniUtils.isGradMode();
        JniUtils.setGradMode(enabled);
    }

    /** Whether autograd records operations on the calling thread now. */
    public static boolean enabled() {
        Torch.engine();
        return JniUtils.isGradMode();
    }

    public static GradMode on() {
        return new GradMode(true);
    }

    public static GradMode off() {
        return new GradMode(false);
    }

    @Override
    public void close() {
        JniUtils.setGradMode(previous);
    }
}
