package dev.lora4j.cli;

import dev.lora4j.api.trial.TrialEvent;
import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.train.StepReport;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The live view of a sweep: one line per running trial (name, step/total, loss, eval metric, ETA) and an overall
 * bar (done, failed, running, queued), redrawn in place on a terminal; plain log lines of lifecycle events otherwise.
 */
final class SweepView {
    private final ProgressView view;
    private final String metric;
    private final long total;
    private final Map<String, Running> running = new LinkedHashMap<>();
    private final Consumer<String> warn;
    private final Set<String> warned = new HashSet<>();
    private int done;
    private int failed;
    private int started;
    private final long t0 = System.nanoTime();

    private static final class Running {
        final String name;
        final String where;
        StepReport last;
        Double metric;

        Running(String name, String where) {
            this.name = name;
            this.where = where;
        }
    }

    SweepView(ProgressView view, String metric, long total, Consumer<String> warn) {
        this.view = view;
        this.metric = metric;
        this.total = total;
        this.warn = warn;
    }

    synchronized void on(TrialEvent e) {
        if (e instanceof TrialEvent.Started s) {
            if (!running.containsKey(s.trialId())) {
                started++;
            }
            running.put(s.trialId(), new Running(s.name(), where(s)));
            plain("started " + s.name() + " on " + where(s)
                    + (s.resumedAtStep() > 0 ? " (resumed at step " + s.resumedAtStep() + ")" : "")
                    + (s.attempt() > 1 ? " (attempt " + s.attempt() + ")" : ""));
        } else if (e instanceof TrialEvent.Progress p) {
            Running r = running.get(p.trialId());
            if (r != null) {
                r.last = p.report();
            }
        } else if (e instanceof TrialEvent.Evaluated ev) {
            Running r = running.get(ev.trialId());
            if (r != null) {
                r.metric = ev.metrics().get(metric);
            }
            plain(String.format(Locale.ROOT, "%s step %d: %s", ev.name(), ev.step(),
                    TrainCommand.summary(ev.metrics())));
        } else if (e instanceof TrialEvent.Ended end) {
            TrialResult r = end.result();
            if (running.remove(r.trialId()) == null) {
                started++;
            }
            if (r.status() == TrialResult.Status.FAILED || r.status() == TrialResult.Status.REJECTED) {
                failed++;
            } else {
                done++;
            }
            if (end.kept()) {
                return;
            }
            plain(r.name() + " " + r.status().json()
                    + r.metric(metric).map(v -> String.format(Locale.ROOT, ": %s %.4f", metric, v)).orElse("")
                    + (r.reason() != null ? " (" + r.reason() + ")" : "")
                    + (r.errors().isEmpty() ? "" : ": " + r.errors()));
        } else if (e instanceof TrialEvent.Warned w) {
            // every trial on a base, or with the same config, says the same: once is enough
            if (warned.add(w.message())) {
                warn.accept("trial " + w.name() + ": " + w.message());
            }
        } else if (e instanceof TrialEvent.Retried r) {
            plain(r.name() + " retried (attempt " + r.attempt() + ", batch " + r.batchSize() + " x "
                    + r.accumulation() + "): " + r.failure().message());
        }
        redraw(e instanceof TrialEvent.Ended);
    }

    private void plain(String line) {
        if (!view.terminal()) {
            view.log(line);
        }
    }

    private void redraw(boolean force) {
        if (!view.terminal()) {
            return;
        }
        List<String> lines = new ArrayList<>();
        for (Running r : running.values()) {
            StepReport s = r.last;
            if (s == null) {
                lines.add(String.format(Locale.ROOT, "  %-28s starting on %s", cut(r.name), r.where));
                continue;
            }
            double eta = s.elapsedSeconds() / Math.max(1, s.step()) * (s.totalSteps() - s.step());
            lines.add(String.format(Locale.ROOT, "  %-28s %5d/%-5d %s loss %.4f%s ETA %s  %s", cut(r.name),
                    s.step(), s.totalSteps(), ProgressView.bar(s.step(), s.totalSteps(), 12), s.loss(),
                    r.metric == null ? "" : String.format(Locale.ROOT, " %s %.4f", metric, r.metric),
                    ProgressView.duration(eta), r.where));
        }
        long queued = Math.max(0, total - started);
        lines.add(String.format(Locale.ROOT, "%s %d done, %d failed, %d running, %d queued  %s",
                ProgressView.bar(done + failed, total, 24), done, failed, running.size(), queued,
                ProgressView.duration((System.nanoTime() - t0) / 1e9)));
        view.draw(lines, force);
    }

    /** The lane, and its node when it is not this one: {@code cpu-0}, {@code cpu-1@10.0.0.7:25521}. */
    static String where(TrialEvent.Started s) {
        return s.node() == null || s.node().equals("local") ? s.lane() : s.lane() + "@" + s.node();
    }

    private static String cut(String s) {
        return s.length() <= 28 ? s : s.substring(0, 27) + "~";
    }
}
