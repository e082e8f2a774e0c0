package dev.lora4j.cli;

import dev.lora4j.pipeline.SweepReport;
import dev.lora4j.sweep.SweepSpec;
import java.nio.file.Path;

/** Writes report.html for a finished sweep (see {@code docs/report.md}). */
final class ReportWriter {
    private ReportWriter() {}

    static void write(Path dir, SweepSpec spec, SweepReport report) {
        // filled in with the HTML report
    }
}
