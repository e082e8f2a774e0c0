package dev.lora4j.actors;

/** How the actors (and the pipeline) classify and word what went wrong in a trial. */
public final class Failures {
    private Failures() {}

    /** libtorch reports allocation failures as engine exceptions; Java as OutOfMemoryError. */
    public static boolean isOutOfMemory(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof OutOfMemoryError) {
                return true;
            }
            String m = c.getMessage();
            if (m != null && (m.contains("out of memory") || m.contains("can't allocate memory")
                    || m.contains("CUDA error: out of memory") || m.contains("DefaultCPUAllocator"))) {
                return true;
            }
        }
        return false;
    }

    /** The message of the failure itself, without the CompletionException around it. */
    public static String describe(Throwable t) {
        Throwable c = t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
        return c.getMessage() == null ? c.toString() : c.getMessage();
    }
}
