package dev.lora4j.cli;

/**
 * Ctrl-C handling that does not end the JVM on the first press (a shutdown hook could only delay the exit):
 * the sweep stops gracefully, and a second press stops it at once.
 */
final class Interrupts {
    interface Handler {
        void interrupted();
    }

    private Interrupts() {}

    @SuppressWarnings("removal")
    static void onCtrlC(Handler h) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("INT"), s -> h.interrupted());
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            // no SIGINT on this platform or JVM: Ctrl-C then ends the process, and --resume still recovers
        }
    }
}
