package dev.lora4j.dashboard;

import dev.lora4j.api.SweepReport;
import dev.lora4j.api.trial.TrialEvent;
import dev.lora4j.api.trial.TrialResult;
import dev.lora4j.report.SweepFolder;
import dev.lora4j.sweep.SweepSpec;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.ActorAttributes;
import org.apache.pekko.stream.javadsl.Source;

/**
 * A run folder served from its files ({@code lora4j serve RUN_DIR}): read-only, whether a sweep in another process
 * still writes it or not. Its events are the trials as the folder's report reads them when a client attaches (an
 * ended trial per leaderboard row); the page reads the folder again while the sweep's lock is held.
 */
public final class FolderSweep implements LiveSweep {
    private final Path folder;
    private final CompletableFuture<SweepReport> never = new CompletableFuture<>();

    public FolderSweep(Path folder) {
        this.folder = folder;
    }

    @Override
    public Path folder() {
        return folder;
    }

    @Override
    public Source<TrialEvent, NotUsed> events() {
        // the folder's files are read when the stream starts: on the blocking dispatcher, not the stream's
        return Source.lazySource(() -> Source.from(endedTrials())).mapMaterializedValue(f -> NotUsed.getInstance())
                .addAttributes(ActorAttributes.dispatcher("pekko.actor.default-blocking-io-dispatcher"));
    }

    /** The folder as its report reads it; a trial it does not list yet is in progress while a sweep holds it. */
    private List<TrialEvent> endedTrials() {
        List<TrialEvent> out = new ArrayList<>();
        SweepFolder files = new SweepFolder(folder);
        SweepReport report;
        Set<String> listed;
        try {
            report = files.readReport();
            listed = files.listedTrials();
        } catch (RuntimeException e) {
            // a file being replaced: the next request reads it
            return out;
        }
        boolean running = running(folder);
        for (TrialResult t : report.leaderboard()) {
            if (running && !listed.contains(t.trialId())) {
                out.add(new TrialEvent.Started(t.trialId(), t.name(), "", "", 0, t.steps(), t.attempts()));
            } else {
                out.add(new TrialEvent.Ended(t, true));
            }
        }
        return out;
    }

    /** Serving a folder never ends on its own; the command ends it. */
    @Override
    public CompletionStage<SweepReport> ended() {
        return never;
    }

    @Override
    public Optional<SweepReport> finalReport() {
        return Optional.empty();
    }

    @Override
    public Optional<SweepSpec> spec() {
        try {
            return Optional.of(SweepSpec.read(folder.resolve(SweepFolder.SPEC)).value());
        } catch (RuntimeException e) {
            return Optional.empty(); // its relative paths point elsewhere from here: the page does without it
        }
    }

    @Override
    public boolean readOnly() {
        return true;
    }

    @Override
    public void stop(String trialId) {
        throw new UnsupportedOperationException("read-only");
    }

    @Override
    public void cancel() {
        throw new UnsupportedOperationException("read-only");
    }

    /**
     * Whether a sweep (of any process) holds the folder's lock: a shared lock is refused while it does. Nothing is
     * written, so the check cannot get in a sweep's way beyond the instant it holds the shared lock.
     */
    static boolean running(Path folder) {
        Path lock = folder.resolve(".lock");
        if (!Files.isRegularFile(lock)) {
            return false;
        }
        try (FileChannel ch = FileChannel.open(lock, StandardOpenOption.READ)) {
            FileLock l = ch.tryLock(0, Long.MAX_VALUE, true);
            if (l == null) {
                return true;
            }
            l.release();
            return false;
        } catch (OverlappingFileLockException e) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
