package dev.lora4j.cli;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * Progress on the terminal: lines redrawn in place when the output is a terminal, plain log lines (a few per run)
 * otherwise, so logs and CI output stay readable.
 */
final class ProgressView {
    private final PrintWriter out;
    private final boolean terminal;
    private int drawnLines;
    private long lastPlain;

    ProgressView(PrintWriter out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
    }

    static boolean isTerminal() {
        return System.console() != null && System.getenv("LORA4J_PLAIN") == null;
    }

    boolean terminal() {
        return terminal;
    }

    /** Replaces the block of lines drawn last time (terminal), or logs them at most every few seconds (plain). */
    void draw(java.util.List<String> lines, boolean force) {
        if (terminal) {
            StringBuilder sb = new StringBuilder();
            if (drawnLines > 0) {
                sb.append("\u001b[").append(drawnLines).append('F');
            }
            for (String l : lines) {
                sb.append("\u001b[2K").append(l).append('\n');
            }
            out.print(sb);
            drawnLines = lines.size();
        } else {
            long now = System.nanoTime();
            if (!force && now - lastPlain < 5_000_000_000L) {
                return;
            }
            lastPlain = now;
            lines.forEach(out::println);
        }
        out.flush();
    }

    /** A line printed once, above the redrawn block. */
    void log(String line) {
        if (terminal && drawnLines > 0) {
            out.print("\u001b[" + drawnLines + "F\u001b[J");
            drawnLines = 0;
        }
        out.println(line);
        out.flush();
    }

    /** A {@code lora4j: warning: } line on {@code err}, above the redrawn block (which the next draw restores). */
    void warn(PrintWriter err, String message) {
        if (terminal && drawnLines > 0) {
            out.print("\u001b[" + drawnLines + "F\u001b[J");
            out.flush();
            drawnLines = 0;
        }
        err.println("lora4j: warning: " + message);
        err.flush();
    }

    static String bar(long done, long total, int width) {
        int filled = total <= 0 ? 0 : (int) Math.min(width, done * width / total);
        return "[" + "=".repeat(filled) + (filled < width ? ">" : "") + " ".repeat(Math.max(0, width - filled - 1))
                + "]";
    }

    static String duration(double seconds) {
        if (!Double.isFinite(seconds) || seconds < 0) {
            return "--:--";
        }
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%02d:%02d", s / 60, s % 60);
    }
}
