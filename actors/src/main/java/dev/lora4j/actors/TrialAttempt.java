package dev.lora4j.actors;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.api.trial.Failure;
import dev.lora4j.checkpoint.Checkpoint;
import dev.lora4j.checkpoint.CheckpointStore;
import dev.lora4j.files.AtomicFiles;
import dev.lora4j.lora.PeftAdapters;
import dev.lora4j.sweep.TrialSpec;
import dev.lora4j.train.TrialData;
import dev.lora4j.train.TrialRun;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * One attempt of a trial, on the node of the lane it trains on: the half of a trial that needs the machine. It gets
 * the trial's model from this node's injector (sharing the node's base), opens its data with this node's loader (the
 * coordinator's data files are fetched into this node's cache first when the session is elsewhere), has the lane
 * train it, and reports everything to the trial's {@link TrialSession}, which keeps the books wherever it runs.
 *
 * <p>Checkpoints and the final adapter go to the session as objects when it is on this node; from another node they
 * are written to a staging folder here and streamed ({@link Transfers}), and the staging copy is deleted only once
 * the session says it has written it. The lane waits for that acknowledgement before the trial steps again, so a
 * trial never gets ahead of what its coordinator holds. The attempt watches its session and its lane: if either
 * stops it stops too, and everything it holds (model, data, staging) is freed on the way out.
 */
public final class TrialAttempt extends AbstractBehavior<TrialAttempt.Command> {

    public sealed interface Command {}

    /** Stop at the next step boundary, after a checkpoint of what was trained since the last. */
    public record Cancel() implements Command, CrossNode {}

    /** End the trial for good before its next step, as an early termination does, with {@code reason}. */
    public record StopEarly(String reason) implements Command, CrossNode {}

    /** Drop the trial at once without a checkpoint (the session can no longer record it). */
    public record Abandon(Failure failure) implements Command, CrossNode {}

    /** The session wrote the checkpoint of {@code step} ({@code failure} null) or could not. */
    public record Saved(long step, Failure failure) implements Command, CrossNode {}

    /** The sweep's early-termination decision on the evaluation at {@code step} (null: go on). */
    public record Verdict(long step, String stopReason) implements Command, CrossNode {}

    /** The checkpoint to resume from, from a session on this node. */
    public record ResumeHere(Checkpoint checkpoint) implements Command, LocalOnly {}

    /** The checkpoint to resume from, streamed from a session on another node. */
    public record ResumeOffered(long step, Transfers.FolderOffer files) implements Command, CrossNode {}

    /** The session has the final adapter: the staging copy can go, and so can the attempt. */
    public record AdapterStored() implements Command, CrossNode {}

    /** The session no longer needs this attempt (it ended, or moved on to another). */
    public record Stop() implements Command, CrossNode {}

    private record FromInjector(ModelInjector.InjectResult result) implements Command, LocalOnly {}

    private record FromData(DataLoader.Opened opened) implements Command, LocalOnly {}

    private record FromLane(Trainer.Report report) implements Command, LocalOnly {}

    private record Localized(Map<String, Path> files, Throwable error) implements Command, LocalOnly {}

    private record ResumeLoaded(Checkpoint checkpoint, Throwable error) implements Command, LocalOnly {}

    private record Gone(String what, ActorRef<?> ref) implements Command, LocalOnly {}

    private enum Phase { PREPARING, TRAINING, HANDING_OVER, DONE }

    /** How long a data file may take to be offered by the session (the transfer itself is not bounded). */
    private static final Duration OFFER_WAIT = Duration.ofSeconds(60);

    public static Behavior<Command> create(LaneHost.StartAttempt start, LaneHost.Node node) {
        return Behaviors.setup(ctx -> new TrialAttempt(ctx, start, node).begin());
    }

    private final LaneHost.StartAttempt start;
    private final LaneHost.Node node;
    private final ActorRef<TrialSession.Command> session;
    private final boolean remote;
    private final String where;

    private Phase phase = Phase.PREPARING;
    private TrialSpec spec;
    private TrialModel model;
    private TrialData data;
    private Checkpoint resumeFrom;
    private boolean watchingInjector;
    private boolean watchingData;
    private Path staging;
    private Path stagedCheckpoint;
    private long lastStep;

    private TrialAttempt(ActorContext<Command> ctx, LaneHost.StartAttempt start, LaneHost.Node node) {
        super(ctx);
        this.start = start;
        this.node = node;
        this.session = start.session();
        this.remote = !session.path().address().hasLocalScope();
        this.where = remote ? " on node " + node.name() : "";
    }

    private Behavior<Command> begin() {
        getContext().watchWith(session, new Gone("its session", session));
        getContext().watchWith(start.lane(), new Gone("its lane", start.lane()));
        session.tell(new TrialSession.Attached(start.attempt(), getContext().getSelf(), node.name()));
        if (!remote || start.data().isEmpty()) {
            return prepare(Map.of());
        }
        String origin = session.path().address().toString();
        List<CompletableFuture<Path>> copies = new ArrayList<>();
        for (NodeFiles.DataFile f : start.data()) {
            copies.add(node.files().localize(origin, f, target -> fetch(f, target)).toCompletableFuture());
        }
        // never a null value: one would break Pekko's dead-letter logging if the attempt stopped meanwhile
        getContext().pipeToSelf(CompletableFuture.allOf(copies.toArray(CompletableFuture[]::new))
                .thenApply(v -> copies.size()), (v, e) -> {
            Map<String, Path> local = new LinkedHashMap<>();
            if (e == null) {
                for (int i = 0; i < copies.size(); i++) {
                    local.put(start.data().get(i).path(), copies.get(i).join());
                }
            }
            return new Localized(local, e);
        });
        return this;
    }

    private CompletionStage<Path> fetch(NodeFiles.DataFile f, Path target) {
        CompletionStage<TrialSession.DataReply> reply = AskPattern.ask(session,
                r -> new TrialSession.FetchData(f.path(), r), OFFER_WAIT, getContext().getSystem().scheduler());
        return reply.thenCompose(r -> {
            if (r instanceof TrialSession.DataOffered o) {
                return Transfers.receive(o.file(), target, getContext().getSystem());
            }
            return CompletableFuture.failedFuture(new IllegalStateException(
                    ((TrialSession.DataRefused) r).reason()));
        });
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Localized.class, m -> {
                    if (m.error() != null) {
                        return crash(new Failure.DeviceLost("the data files did not arrive" + where + ": "
                                + Failure.of(m.error()).message()));
                    }
                    return prepare(m.files());
                })
                .onMessage(FromInjector.class, m -> onInjector(m.result()))
                .onMessage(FromData.class, m -> onData(m.opened()))
                .onMessage(ResumeHere.class, m -> {
                    resumeFrom = m.checkpoint();
                    return maybeTrain();
                })
                .onMessage(ResumeOffered.class, this::onResumeOffered)
                .onMessage(ResumeLoaded.class, m -> {
                    if (m.error() != null) {
                        return crash(new Failure.DeviceLost("the checkpoint to resume from did not arrive" + where
                                + ": " + Failure.of(m.error()).message()));
                    }
                    resumeFrom = m.checkpoint();
                    return maybeTrain();
                })
                .onMessage(FromLane.class, m -> onLane(m.report()))
                .onMessage(Cancel.class, m -> {
                    if (phase == Phase.TRAINING) {
                        start.lane().tell(new Trainer.Cancel(getContext().getSelf()));
                    }
                    return this;
                })
                .onMessage(StopEarly.class, m -> {
                    if (phase == Phase.TRAINING) {
                        start.lane().tell(new Trainer.StopEarly(getContext().getSelf(), m.reason()));
                    }
                    return this;
                })
                .onMessage(Abandon.class, m -> {
                    start.lane().tell(new Trainer.Abandon(getContext().getSelf(), m.failure()));
                    return this;
                })
                .onMessage(Saved.class, this::onSaved)
                .onMessage(Verdict.class, m -> {
                    start.lane().tell(new Trainer.Verdict(getContext().getSelf(), m.step(), m.stopReason()));
                    return this;
                })
                .onMessage(AdapterStored.class, m -> Behaviors.stopped())
                .onMessage(Stop.class, m -> Behaviors.stopped())
                .onMessage(Gone.class, this::onGone)
                .onSignal(PostStop.class, s -> {
                    release();
                    return this;
                })
                .build();
    }

    /** Reads the trial (with this node's copies of its data files) and asks for its model. */
    private Behavior<Command> prepare(Map<String, Path> localData) {
        try {
            spec = start.trial().spec().orElseGet(() -> {
                ObjectNode tree = start.trial().tree().deepCopy();
                ObjectNode d = (ObjectNode) tree.path("run").path("data");
                for (String key : List.of("train", "eval")) {
                    Path local = d.hasNonNull(key) ? localData.get(d.get(key).asText()) : null;
                    if (local != null) {
                        d.put(key, local.toString());
                    }
                }
                return TrialSpec.fromTree(tree);
            });
        } catch (RuntimeException e) {
            // the coordinator checked the trial: what fails here is this node's copy of the world
            return crash(remote ? new Failure.DeviceLost("node " + node.name() + " cannot train this trial: "
                    + Failure.of(e).message()) : Failure.of(e));
        }
        watchingInjector = true;
        getContext().watchWith(node.injector(), new Gone("the model injector", node.injector()));
        node.injector().tell(new ModelInjector.Inject(spec, start.slot().device(),
                getContext().messageAdapter(ModelInjector.InjectResult.class, FromInjector::new)));
        return this;
    }

    private Behavior<Command> onInjector(ModelInjector.InjectResult result) {
        if (result instanceof ModelInjector.Injected i && (phase != Phase.PREPARING || model != null)) {
            i.model().release();
            return this;
        }
        if (phase != Phase.PREPARING) {
            return this;
        }
        unwatchInjector();
        if (result instanceof ModelInjector.InjectFailed f) {
            return crash(f.failure());
        }
        model = ((ModelInjector.Injected) result).model();
        List<String> warnings = new ArrayList<>();
        if (model.base() != null) {
            warnings.addAll(model.base().warnings());
        }
        if (model.adapter() != null) {
            warnings.addAll(model.adapter().warnings());
        }
        if (!warnings.isEmpty()) {
            session.tell(new TrialSession.Warned(start.attempt(), warnings));
        }
        watchingData = true;
        getContext().watchWith(node.data(), new Gone("the data loader", node.data()));
        node.data().tell(new DataLoader.Open(spec, model.base(), start.batchSize(),
                getContext().messageAdapter(DataLoader.Opened.class, FromData::new)));
        return this;
    }

    private Behavior<Command> onData(DataLoader.Opened opened) {
        if (opened instanceof DataLoader.Ready r && (phase != Phase.PREPARING || data != null)) {
            closeQuietly(r.data());
            return this;
        }
        if (phase != Phase.PREPARING) {
            return this;
        }
        unwatchData();
        if (opened instanceof DataLoader.OpenFailed f) {
            return crash(f.failure());
        }
        data = ((DataLoader.Ready) opened).data();
        return maybeTrain();
    }

    /** This attempt's staging folder on the node, made when first needed. */
    private Path staging() {
        if (staging == null) {
            staging = node.files().newStaging(start.trial().id());
        }
        return staging;
    }

    private Behavior<Command> onResumeOffered(ResumeOffered m) {
        Path into;
        try {
            into = staging().resolve("resume-" + m.step());
        } catch (RuntimeException e) {
            return crash(Failure.of(e));
        }
        getContext().pipeToSelf(Transfers.receiveFolder(m.files(), into, getContext().getSystem())
                .thenApply(CheckpointStore::load), ResumeLoaded::new);
        return this;
    }

    private Behavior<Command> maybeTrain() {
        if (phase != Phase.PREPARING || model == null || data == null
                || (start.resumeStep() >= 0 && resumeFrom == null)) {
            return this;
        }
        phase = Phase.TRAINING;
        TrialRun.Settings settings = TrialRun.Settings.of(spec.training(), start.metric(), start.maximize())
                .withAccumulation(start.accumulation());
        TrialData given = data;
        data = null; // the lane owns the batches from here on
        Checkpoint from = resumeFrom;
        resumeFrom = null;
        start.lane().tell(new Trainer.Train(model, given, settings, from, Set.copyOf(start.extraEvaluations()),
                start.verdicts(), getContext().messageAdapter(Trainer.Report.class, FromLane::new),
                getContext().getSelf()));
        return this;
    }

    private Behavior<Command> onLane(Trainer.Report report) {
        if (phase != Phase.TRAINING) {
            return this;
        }
        int n = start.attempt();
        if (report instanceof Trainer.Started s) {
            session.tell(new TrialSession.Started(n, s.totalSteps(), s.resumedAtStep()));
        } else if (report instanceof Trainer.Stepped s) {
            lastStep = s.report().step();
            session.tell(new TrialSession.Stepped(n, s.report()));
        } else if (report instanceof Trainer.Evaluated e) {
            session.tell(new TrialSession.Evaluated(n, e.step(), e.metrics(), e.best()));
        } else if (report instanceof Trainer.SaveCheckpoint c) {
            onSaveCheckpoint(c);
        } else if (report instanceof Trainer.Completed c) {
            return onCompleted(c);
        } else if (report instanceof Trainer.Crashed c) {
            session.tell(new TrialSession.Crashed(n, c.failure(), c.step(), false));
            phase = Phase.DONE;
            return Behaviors.stopped();
        }
        return this;
    }

    private void onSaveCheckpoint(Trainer.SaveCheckpoint c) {
        long step = c.checkpoint().state().step();
        if (!remote) {
            session.tell(new TrialSession.CheckpointHere(start.attempt(), c.checkpoint(), c.protectStep()));
            return;
        }
        try {
            stagedCheckpoint = new CheckpointStore(staging().resolve("checkpoints")).save(c.checkpoint());
            session.tell(new TrialSession.CheckpointOffered(start.attempt(), step, c.protectStep(),
                    Transfers.offerFolder(stagedCheckpoint, getContext().getSystem())));
        } catch (RuntimeException e) {
            start.lane().tell(new Trainer.Saved(getContext().getSelf(), step, Failure.of(e)));
        }
    }

    private Behavior<Command> onSaved(Saved m) {
        if (stagedCheckpoint != null) {
            // the coordinator has it (or gave up on it): the staged copy is no longer needed either way
            deleteQuietly(stagedCheckpoint);
            stagedCheckpoint = null;
        }
        start.lane().tell(new Trainer.Saved(getContext().getSelf(), m.step(), m.failure()));
        return this;
    }

    private Behavior<Command> onCompleted(Trainer.Completed c) {
        int n = start.attempt();
        if (!remote) {
            session.tell(new TrialSession.FinishedHere(n, c.status(), c.metrics(), c.steps(), c.seconds(),
                    c.adapter(), c.reason()));
            phase = Phase.DONE;
            return Behaviors.stopped();
        }
        Transfers.FolderOffer adapter = null;
        if (c.adapter() != null) {
            try {
                Path dir = staging().resolve("adapter");
                PeftAdapters.write(c.adapter(), dir);
                adapter = Transfers.offerFolder(dir, getContext().getSystem());
            } catch (RuntimeException e) {
                session.tell(new TrialSession.Crashed(n, Failure.of(e), c.steps(), false));
                phase = Phase.DONE;
                return Behaviors.stopped();
            }
        }
        session.tell(new TrialSession.Finished(n, c.status(), c.metrics(), c.steps(), c.seconds(), adapter,
                c.reason()));
        if (adapter == null) {
            phase = Phase.DONE;
            return Behaviors.stopped();
        }
        phase = Phase.HANDING_OVER;
        return this;
    }

    private Behavior<Command> onGone(Gone m) {
        if (m.ref().equals(session)) {
            return Behaviors.stopped();
        }
        if (m.ref().equals(start.lane())) {
            if (phase == Phase.DONE) {
                return Behaviors.stopped();
            }
            // the session hears it from here before it leases again, so the dead lane is never granted to its retry
            session.tell(new TrialSession.Crashed(start.attempt(), new Failure.DeviceLost("lane "
                    + start.slot().laneName() + where + " stopped unexpectedly"), lastStep, true));
            phase = Phase.DONE;
            return Behaviors.stopped();
        }
        boolean matters = (m.ref().equals(node.injector()) && watchingInjector)
                || (m.ref().equals(node.data()) && watchingData);
        if (!matters || phase != Phase.PREPARING) {
            return this;
        }
        return crash(new Failure.DeviceLost(m.what() + where + " stopped unexpectedly"));
    }

    private Behavior<Command> crash(Failure failure) {
        session.tell(new TrialSession.Crashed(start.attempt(), failure, 0, false));
        phase = Phase.DONE;
        return Behaviors.stopped();
    }

    /** Frees everything this attempt holds; the lane frees its own hold when it sees the attempt gone. */
    private void release() {
        unwatchInjector();
        unwatchData();
        if (model != null) {
            model.release();
            model = null;
        }
        if (data != null) {
            closeQuietly(data);
            data = null;
        }
        if (staging != null) {
            deleteQuietly(staging);
            staging = null;
        }
    }

    private void unwatchInjector() {
        if (watchingInjector) {
            getContext().unwatch(node.injector());
            watchingInjector = false;
        }
    }

    private void unwatchData() {
        if (watchingData) {
            getContext().unwatch(node.data());
            watchingData = false;
        }
    }

    private void closeQuietly(TrialData d) {
        try {
            if (d.train() != null) {
                d.train().close();
            }
        } catch (RuntimeException e) {
            getContext().getLog().warn("trial {}: closing its data failed: {}", start.trial().id(),
                    e.toString());
        }
    }

    private void deleteQuietly(Path p) {
        try {
            AtomicFiles.deleteRecursively(p);
        } catch (IOException | RuntimeException e) {
            getContext().getLog().warn("cannot delete {}: {}", p, e.toString());
        }
    }
}
