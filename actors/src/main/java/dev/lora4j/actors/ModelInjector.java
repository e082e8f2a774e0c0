package dev.lora4j.actors;

import dev.lora4j.api.trial.Failure;
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
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * Gives each trial its adapter on a shared base model. Each base (model folder, task head, device) is loaded once,
 * shared read-only by every trial on that device, and let go once no trial has used it for {@code idleRelease}
 * (so a sweep's next trial does not reload what the previous one just let go). Loading and adapter creation are
 * blocking and run on the blocking-IO dispatcher; this actor only keeps the books.
 *
 * <p>The cache is one holder of each {@link SharedBase} among the trials' {@link TrialModel}s, so the base's memory
 * outlives this actor if trials still use it. Supervised with restart: a restart answers every request in flight
 * with a failure (nobody waits forever) and drops the cache's holds; results of work started before the restart are
 * freed when they arrive.
 */
public final class ModelInjector extends AbstractBehavior<ModelInjector.Command> {

    /** Only ever told by actors of its own node: the models it hands out live on this node's devices. */
    public sealed interface Command extends LocalOnly {}

    public record Inject(TrialSpec spec, String device, ActorRef<InjectResult> replyTo) implements Command {}

    public record GetStatus(ActorRef<Status> replyTo) implements Command {}

    private record BaseLoaded(BaseKey key, long load, BaseModel base, Throwable error) implements Command {}

    private record AdapterCreated(long request, SharedBase base, Adapter adapter, Throwable error) implements Command {}

    private record OnlyCacheLeft(BaseKey key, SharedBase base) implements Command {}

    private record Evict(BaseKey key, SharedBase base) implements Command {}

    public sealed interface InjectResult extends LocalOnly {}

    /** The trial's model; the receiver holds it and must {@link TrialModel#release()} it once. */
    public record Injected(TrialModel model) implements InjectResult {}

    public record InjectFailed(TrialSpec spec, Failure failure) implements InjectResult {}

    /** Loaded bases and how many trials hold each. */
    public record Status(Map<BaseKey, Integer> trials) implements LocalOnly {}

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

    /** Loads and creations are numbered across restarts, so a result from before one is recognised as orphaned. */
    private static final AtomicLong IDS = new AtomicLong();

    private static final class Entry {
        final long load;
        SharedBase base;
        final List<Inject> waiting = new ArrayList<>();

        Entry(long load) {
            this.load = load;
        }
    }

    private record Creating(Inject request, BaseKey key, SharedBase base) {}

    private final TimerScheduler<Command> timers;
    private final Loader loader;
    private final AdapterFactory adapters;
    private final Duration idleRelease;
    private final Executor blocking;
    private final Map<BaseKey, Entry> entries = new HashMap<>();
    private final Map<Long, Creating> creating = new HashMap<>();

    private ModelInjector(ActorContext<Command> ctx, TimerScheduler<Command> timers, Loader loader,
            AdapterFactory adapters, Duration idleRelease) {
        super(ctx);
        this.timers = timers;
        this.loader = loader;
        this.adapters = adapters;
        this.idleRelease = idleRelease;
        this.blocking = ctx.getSystem().dispatchers().lookup(DispatcherSelector.blocking());
    }

    static BaseKey keyOf(TrialSpec spec, String device) {
        return new BaseKey(spec.model().isBuiltin() ? spec.model().text() : spec.model().path().toString(),
                spec.task(), device);
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Inject.class, this::onInject)
                .onMessage(BaseLoaded.class, this::onBaseLoaded)
                .onMessage(AdapterCreated.class, this::onAdapterCreated)
                .onMessage(OnlyCacheLeft.class, this::onOnlyCacheLeft)
                .onMessage(Evict.class, this::onEvict)
                .onMessage(GetStatus.class, m -> {
                    Map<BaseKey, Integer> refs = new HashMap<>();
                    entries.forEach((k, e) -> {
                        if (e.base != null) {
                            refs.put(k, e.base.holders() - 1);
                        }
                    });
                    m.replyTo().tell(new Status(refs));
                    return this;
                })
                .onSignal(PreRestart.class, s -> {
                    Failure f = new Failure.Internal("the model injector restarted after a failure");
                    entries.values().forEach(e -> e.waiting.forEach(w -> w.replyTo().tell(new InjectFailed(w.spec(),
                            f))));
                    creating.values().forEach(c -> c.request().replyTo().tell(new InjectFailed(c.request().spec(),
                            f)));
                    dropCache();
                    return this;
                })
                .onSignal(PostStop.class, s -> {
                    dropCache();
                    return this;
                })
                .build();
    }

    /** Lets go of the cache's holds; bases that trials still use stay alive until they release them. */
    private void dropCache() {
        entries.values().stream().filter(e -> e.base != null).forEach(e -> e.base.release());
        entries.clear();
        creating.clear();
    }

    private Behavior<Command> onInject(Inject m) {
        BaseKey key = keyOf(m.spec(), m.device());
        Entry e = entries.get(key);
        if (e == null) {
            long load = IDS.incrementAndGet();
            e = new Entry(load);
            entries.put(key, e);
            e.waiting.add(m);
            getContext().pipeToSelf(CompletableFuture.supplyAsync(() -> loader.load(key, m.spec()), blocking),
                    (base, err) -> new BaseLoaded(key, load, base, err));
        } else if (e.base == null) {
            e.waiting.add(m);
        } else {
            timers.cancel(key);
            createAdapter(m, key, e.base);
        }
        return this;
    }

    private Behavior<Command> onBaseLoaded(BaseLoaded m) {
        Entry e = entries.get(m.key());
        if (e == null || e.load != m.load()) {
            // loaded for an incarnation before a restart: nobody waits for it
            if (m.base() != null) {
                m.base().close();
            }
            return this;
        }
        if (m.error() != null || m.base() == null) {
            entries.remove(m.key());
            Failure f = m.error() != null ? Failure.of(m.error())
                    : new Failure.Internal("the model loader returned no model for " + m.key().model());
            e.waiting.forEach(w -> w.replyTo().tell(new InjectFailed(w.spec(), f)));
            return this;
        }
        BaseKey key = m.key();
        ActorRef<Command> self = getContext().getSelf();
        e.base = new SharedBase(m.base(), true, b -> self.tell(new OnlyCacheLeft(key, b)));
        for (Inject w : e.waiting) {
            createAdapter(w, key, e.base);
        }
        e.waiting.clear();
        return this;
    }

    private void createAdapter(Inject m, BaseKey key, SharedBase base) {
        long id = IDS.incrementAndGet();
        base.retain();
        creating.put(id, new Creating(m, key, base));
        getContext().pipeToSelf(CompletableFuture.supplyAsync(() -> adapters.create(base.base(), m.spec()), blocking),
                (adapter, err) -> new AdapterCreated(id, base, adapter, err));
    }

    private Behavior<Command> onAdapterCreated(AdapterCreated m) {
        Creating c = creating.remove(m.request());
        if (c == null) {
            // its request was answered by a restart already: free what arrived, and the hold taken for it
            if (m.adapter() != null) {
                m.adapter().close();
            }
            m.base().release();
            return this;
        }
        if (m.error() != null) {
            c.base().release();
            c.request().replyTo().tell(new InjectFailed(c.request().spec(), Failure.of(m.error())));
        } else {
            c.request().replyTo().tell(new Injected(new TrialModel(c.request().spec(), c.request().device(), c.key(),
                    c.base(), m.adapter())));
        }
        return this;
    }

    private Behavior<Command> onOnlyCacheLeft(OnlyCacheLeft m) {
        Entry e = entries.get(m.key());
        if (e != null && e.base == m.base() && e.base.holders() == 1) {
            if (idleRelease.isZero()) {
                evict(m.key(), e);
            } else {
                timers.startSingleTimer(m.key(), new Evict(m.key(), m.base()), idleRelease);
            }
        }
        return this;
    }

    private Behavior<Command> onEvict(Evict m) {
        Entry e = entries.get(m.key());
        // retains happen only here, on this actor's thread, so a base with one holder stays unused while we drop it
        if (e != null && e.base == m.base() && e.base.holders() == 1) {
            evict(m.key(), e);
        }
        return this;
    }

    private void evict(BaseKey key, Entry e) {
        entries.remove(key);
        getContext().getLog().debug("letting go of base {} (no trial uses it)", key);
        e.base.release();
    }
}
