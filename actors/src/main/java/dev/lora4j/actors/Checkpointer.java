package dev.lora4j.actors;

import dev.lora4j.checkpoint.Checkpoint;
import dev.lora4j.checkpoint.CheckpointStore;
import dev.lora4j.lora.AdapterSnapshot;
import dev.lora4j.lora.PeftAdapters;
import dev.lora4j.train.RunFolder;
import java.nio.file.Path;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Writes checkpoints and final adapters. It must be spawned on the blocking-IO dispatcher: every message is a
 * blocking write (temp folder, fsync, rename). Trainers wait for {@link Saved} before asking for the next save of the
 * same trial, so a slow disk slows training instead of piling up snapshots in memory.
 */
public final class Checkpointer {

    public sealed interface Command {}

    /** Writes {@code checkpoint} under {@code store} and prunes to the newest {@code keepLast} plus the best. */
    public record Save(String trialId, Checkpoint checkpoint, CheckpointStore store, int keepLast, long protectStep,
            ActorRef<Saved> replyTo) implements Command {}

    /** Writes a trial's final adapter and result. */
    public record Finish(String trialId, AdapterSnapshot adapter, RunFolder folder, Object result,
            ActorRef<Saved> replyTo) implements Command {}

    /** Acknowledges a write: {@code error} is null when it worked. */
    public record Saved(String trialId, long step, Path path, String error) {}

    private Checkpointer() {}

    public static Behavior<Command> create() {
        return Behaviors.receive(Command.class)
                .onMessage(Save.class, m -> {
                    m.replyTo().tell(save(m));
                    return Behaviors.same();
                })
                .onMessage(Finish.class, m -> {
                    m.replyTo().tell(finish(m));
                    return Behaviors.same();
                })
                .build();
    }

    private static Saved save(Save m) {
        long step = m.checkpoint().state().step();
        try {
            Path p = m.store().save(m.checkpoint());
            m.store().prune(m.keepLast(), m.protectStep());
            return new Saved(m.trialId(), step, p, null);
        } catch (RuntimeException e) {
            return new Saved(m.trialId(), step, null, Failures.describe(e));
        }
    }

    private static Saved finish(Finish m) {
        try {
            if (m.adapter() != null) {
                PeftAdapters.write(m.adapter(), m.folder().adapterDir());
            }
            m.folder().writeResult(m.result());
            return new Saved(m.trialId(), -1, m.folder().dir(), null);
        } catch (RuntimeException e) {
            return new Saved(m.trialId(), -1, null, Failures.describe(e));
        }
    }
}
