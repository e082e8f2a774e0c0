package dev.lora4j.actors;

import dev.lora4j.model.BaseModel;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A frozen base model and who holds it: the injector's cache and every trial using it. The base's native memory is
 * freed by the last release, never earlier, so no actor's death or shutdown order can free weights a lane is still
 * computing with.
 */
final class SharedBase {
    private static final Logger LOG = LoggerFactory.getLogger(SharedBase.class);

    private final BaseModel base;
    private final boolean owned;
    private final Consumer<SharedBase> onlyCacheLeft;
    private final AtomicInteger holders = new AtomicInteger(1);

    /**
     * @param owned whether the last release closes the base (false for a base the caller manages itself)
     * @param onlyCacheLeft told when one holder is left (the cache, unless it already let go)
     */
    SharedBase(BaseModel base, boolean owned, Consumer<SharedBase> onlyCacheLeft) {
        this.base = base;
        this.owned = owned;
        this.onlyCacheLeft = onlyCacheLeft;
    }

    BaseModel base() {
        return base;
    }

    int holders() {
        return holders.get();
    }

    SharedBase retain() {
        holders.getAndUpdate(n -> {
            if (n <= 0) {
                throw new IllegalStateException("a base model was retained after it was freed");
            }
            return n + 1;
        });
        return this;
    }

    void release() {
        int left = holders.decrementAndGet();
        if (left == 0) {
            if (owned && base != null) {
                try {
                    base.close();
                } catch (RuntimeException e) {
                    LOG.warn("closing a base model failed: {}", e.toString());
                }
            }
        } else if (left == 1) {
            onlyCacheLeft.accept(this);
        } else if (left < 0) {
            LOG.error("a base model was released more often than it was held", new IllegalStateException());
        }
    }
}
