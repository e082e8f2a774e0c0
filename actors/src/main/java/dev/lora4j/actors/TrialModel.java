package dev.lora4j.actors;

import dev.lora4j.lora.Adapter;
import dev.lora4j.model.BaseModel;
import dev.lora4j.sweep.TrialSpec;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A trial ready to train: its spec, the device it was made for, the shared frozen base on that device, and its own
 * adapter. Held by the trial's session and, while training, by its lane; each holder {@link #release()}s it once,
 * and the last release closes the adapter and lets go of the base. Nothing is freed while someone still computes
 * with it, whichever actor stops first.
 */
public final class TrialModel {
    private static final Logger LOG = LoggerFactory.getLogger(TrialModel.class);

    private final TrialSpec spec;
    private final String device;
    private final ModelInjector.BaseKey key;
    private final SharedBase base;
    private final Adapter adapter;
    private final AtomicInteger holders = new AtomicInteger(1);

    TrialModel(TrialSpec spec, String device, ModelInjector.BaseKey key, SharedBase base, Adapter adapter) {
        this.spec = spec;
        this.device = device;
        this.key = key;
        this.base = base;
        this.adapter = adapter;
    }

    /**
     * A model over a base the caller keeps (and closes) itself; the adapter is closed by the last release. For
     * tests and apps that drive a lane directly.
     */
    public static TrialModel of(TrialSpec spec, String device, BaseModel base, Adapter adapter) {
        return new TrialModel(spec, device, new ModelInjector.BaseKey(spec.model().text(), spec.task(), device),
                new SharedBase(base, false, b -> {}), adapter);
    }

    public TrialSpec spec() {
        return spec;
    }

    public String device() {
        return device;
    }

    public ModelInjector.BaseKey key() {
        return key;
    }

    public BaseModel base() {
        return base.base();
    }

    public Adapter adapter() {
        return adapter;
    }

    /** One more holder (a lane taking the trial); it must {@link #release()} once. */
    public TrialModel retain() {
        holders.getAndUpdate(n -> {
            if (n <= 0) {
                throw new IllegalStateException("trial " + spec.id() + ": its model was retained after it was freed");
            }
            return n + 1;
        });
        return this;
    }

    /** Lets go of the model; the last holder frees the adapter and its hold on the base. */
    public void release() {
        int left = holders.decrementAndGet();
        if (left == 0) {
            try {
                if (adapter != null) {
                    adapter.close();
                }
            } catch (RuntimeException e) {
                LOG.warn("trial {}: closing its adapter failed: {}", spec.id(), e.toString());
            } finally {
                base.release();
            }
        } else if (left < 0) {
            LOG.error("trial {}: its model was released more often than it was held", spec.id(),
                    new IllegalStateException());
        }
    }

    /** Holders right now (for tests and status). */
    public int holders() {
        return holders.get();
    }
}
