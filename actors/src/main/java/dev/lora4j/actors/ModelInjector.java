package dev.lora4j.actors;

import dev.lora4j.config.TaskType;
import dev.lora4j.lora.Adapter;
import dev.lora4j.model.BaseModel;
import dev.lora4j.sweep.TrialSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * Gives each trial its adapter on a shared base model. Each base (model folder, task head, device) is loaded once,
 * shared read-only by every trial on that device, and closed once no trial has used it for {@code idleRelease}
 * (so a sweep's next trial does not reload what the previous one just let go). Loading and adapter initialisation
 * are blocking and run on the blocking-IO dispatcher; this actor only keeps the books.
 */
public final class ModelInjector extends AbstractBehavior<ModelInjector.Command> {

    public sealed interface Command {}

    public record Inject(TrialSpec spec, DeviceSlot slot, ActorRef<InjectResult> replyTo) implements Command {}

    /** The trial is done with its model: its adapter is closed and its base reference dropped. */
    public record Done(TrialModel model) implements Command {}

    public record GetStatus(ActorRef<Status> replyTo) implements Command {}

    private record BaseLoaded(BaseKey key, BaseModel base, Throwable error) implements Command {}

    private record AdapterCreated(Inject request, BaseKey key, Adapter adapter, Throwable error) implements Command {}

    private record Evict(BaseKey key) implements Command {}

    public sealed interface InjectResult {}

    public record Injected(TrialModel model) implements InjectResult {}

    public record InjectFailed(TrialSpec spec, String reason, boolean outOfMemory) implements InjectResult {}

    /** Loaded bases and how many trials hold each. */
    public record Status(Map<BaseKey, Integer> references) {}

    /** What identifies a base model: where it comes from, its head, its device. */
    public record BaseKey(String model, TaskType task, String device) {}

    /** Loads a base (blocking); tests plug in fakes. */
    @FunctionalInterface
    public interface Loader {
        BaseModel load(BaseKey key, TrialSpec spec);
    }

    /** Creates a trial's adapter on a loaded base (blocking). */
    @FunctionalInterface
    public interface AdapterFactory {
        Adapter create(BaseModel base, TrialSpec spec);
    }

    public static Behavior<Command> create(Loader loader, AdapterFactory adapters, Duration idleRelease) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
                new ModelInjector(ctx, timers, loader, adapters, idleRelease)));
    }

    private static final class Entry {
        BaseModel base;
        int references;
        final List<Inject> waiting = new ArrayList<>();
    }

    private final TimerScheduler<Command> timers;
    private final Loader loader;
    private final AdapterFactory adapters;
    private final Duration idleRelease;
    private final Executor blocking;
    private final Map<BaseKey, Entry> entries = new HashMap<>();

    private ModelInjector(ActorContext<Command> ctx, TimerScheduler<Command> timers, Loader loader,
            AdapterFactory adapters, Duration idleRelease) {
        super(ctx);
        this.timers = timers;
        this.loader = loader;
        this.adapters = adapters;
        this.idleRelease = idleRelease;
        this.blocking = ctx.getSystem().dispatchers().lookup(DispatcherSelector.blocking());
    }

    static BaseKey keyOf(TrialSpec spec, DeviceSlot slot) {
        return new BaseKey(spec.model().text().startsWith("builtin:") ? spec.model().text()
                : spec.model().path().toString(), spec.task(), slot.device());
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Inject.class, this::onInject)
                .onMessage(BaseLoaded.class, this::onBaseLoaded)
                .onMessage(AdapterCreated.class, this::onAdapterCreated)
                .onMessage(Done.class, this::onDone)
                .onMessage(Evict.class, this::onEvict)
                .onMessage(GetStatus.class, m -> {
                    Map<BaseKey, Integer> refs = new HashMap<>();
                    entries.forEach((k, e) -> {
                        if (e.base != null) {
                            refs.put(k, e.references);
                        }
                    });
                    m.replyTo().tell(new Status(refs));
                    return this;
                })
                .onSignal(org.apache.pekko.actor.typed.PostStop.class, s -> {
                    // the sweep is over: free every base still loaded (trials have closed their adapters)
                    entries.values().stream().filter(e -> e.base != null).forEach(e -> e.base.close());
                    entries.clear();
                    return this;
                })
                .build();
    }

    private Behavior<Command> onInject(Inject m) {
        BaseKey key = keyOf(m.spec(), m.slot());
        Entry e = entries.get(key);
        if (e == null) {
            e = new Entry();
            entries.put(key, e);
            e.waiting.add(m);
            getContext().pipeToSelf(CompletableFuture.supplyAsync(() -> loader.load(key, m.spec()), blocking),
                    (base, err) -> new BaseLoaded(key, base, err));
        } else if (e.base == null) {
            e.waiting.add(m);
        } else {
            timers.cancel(key);
            createAdapter(m, key, e);
        }
        return this;
    }

    private Behavior<Command> onBaseLoaded(BaseLoaded m) {
        Entry e = entries.get(m.key());
        if (m.error() != null) {
            entries.remove(m.key());
            for (Inject w : e.waiting) {
                w.replyTo().tell(failure(w.spec(), m.error()));
            }
            return this;
        }
        e.base = m.base();
        for (Inject w : e.waiting) {
            createAdapter(w, m.key(), e);
        }
        e.waiting.clear();
        return this;
    }

    private void createAdapter(Inject m, BaseKey key, Entry e) {
        e.references++;
        BaseModel base = e.base;
        getContext().pipeToSelf(CompletableFuture.supplyAsync(() -> adapters.create(base, m.spec()), blocking),
                (adapter, err) -> new AdapterCreated(m, key, adapter, err));
    }

    private Behavior<Command> onAdapterCreated(AdapterCreated m) {
        Entry e = entries.get(m.key());
        if (m.error() != null) {
            release(m.key(), e);
            m.request().replyTo().tell(failure(m.request().spec(), m.error()));
        } else {
            m.request().replyTo().tell(new Injected(new TrialModel(m.request().spec(), m.request().slot(), m.key(),
                    e.base, m.adapter())));
        }
        return this;
    }

    private Behavior<Command> onDone(Done m) {
        m.model().adapter().close();
        Entry e = entries.get(m.model().key());
        if (e != null) {
            release(m.model().key(), e);
        }
        return this;
    }

    private void release(BaseKey key, Entry e) {
        e.references--;
        if (e.references <= 0) {
            if (idleRelease.isZero()) {
                evict(key);
            } else {
                timers.startSingleTimer(key, new Evict(key), idleRelease);
            }
        }
    }

    private Behavior<Command> onEvict(Evict m) {
        Entry e = entries.get(m.key());
        if (e != null && e.references <= 0 && e.base != null) {
            evict(m.key());
        }
        return this;
    }

    private void evict(BaseKey key) {
        Entry e = entries.remove(key);
        getContext().getLog().debug("closing base {} (no trial uses it)", key);
        e.base.close();
    }

    private static InjectFailed failure(TrialSpec spec, Throwable error) {
        return new InjectFailed(spec, Failures.describe(error), Failures.isOutOfMemory(error));
    }
}
