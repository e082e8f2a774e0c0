package dev.lora4j.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.lora4j.runtime.GradMode;
import dev.lora4j.runtime.Ops;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The frozen weights of one model on one device, shared read-only by every trial on that device. A trial never
 * writes here: what it trains or changes lives in its own {@link Adaptation}.
 */
public final class BaseModel implements AutoCloseable {
    private final HfConfig config;
    private final Architecture architecture;
    private final NDManager manager;
    private final Map<String, NDArray> weights;
    private final Path folder;
    private final List<String> initialised;
    private final List<String> warnings;
    private final Map<String, NDArray> constants = new ConcurrentHashMap<>();

    BaseModel(HfConfig config, Architecture architecture, NDManager manager, Map<String, NDArray> weights,
            Path folder, List<String> initialised, List<String> warnings) {
        this.config = config;
        this.architecture = architecture;
        this.manager = manager;
        this.weights = Collections.unmodifiableMap(new LinkedHashMap<>(weights));
        this.folder = folder;
        this.initialised = List.copyOf(initialised);
        this.warnings = List.copyOf(warnings);
    }

    /** Builds a base from tensors already in {@code manager} (tests, imports); the base then owns the manager. */
    public static BaseModel of(HfConfig config, Architecture architecture, NDManager manager,
            Map<String, NDArray> weights) {
        for (NDArray w : weights.values()) {
            w.setRequiresGradient(false);
        }
        return new BaseModel(config, architecture, manager, weights, null, List.of(), List.of());
    }

    public HfConfig config() {
        return config;
    }

    public Architecture architecture() {
        return architecture;
    }

    public ModuleTree tree() {
        return architecture.tree();
    }

    public Device device() {
        return manager.getDevice();
    }

    /** The manager owning the weights; never create tensors in it from a trial. */
    public NDManager manager() {
        return manager;
    }

    /** The folder the model was read from, if it came from disk. */
    public Optional<Path> folder() {
        return Optional.ofNullable(folder);
    }

    /** Head parameters that the checkpoint lacked and that were freshly initialised (a classifier). */
    public List<String> initialised() {
        return initialised;
    }

    /** What loading warned about, as transformers would (checkpoint tensors this model does not use). */
    public List<String> warnings() {
        return warnings;
    }

    /** Real weights by name (a tied alias is not listed twice). */
    public Map<String, NDArray> weights() {
        return weights;
    }

    public NDArray weight(String name) {
        NDArray w = weightOrNull(name);
        if (w == null) {
            throw new ModelException("model has no parameter " + name);
        }
        return w;
    }

    public NDArray weightOrNull(String name) {
        NDArray w = weights.get(name);
        if (w == null) {
            String target = architecture.aliases().get(name);
            if (target != null) {
                w = weights.get(target);
            }
        }
        return w;
    }

    /** The parameter name that holds {@code module}'s weight (after tying). */
    public String weightNameOf(ModuleNode module) {
        return architecture.aliases().getOrDefault(module.weightName(), module.weightName());
    }

    /**
     * A tensor that depends only on this model and {@code key} (rotary tables, a causal mask), made once by
     * {@code make} and then shared read-only by every pass on every thread until the base closes. Sharing is safe
     * because {@link Ops} attaches every result to the caller's scope, never to an operand's manager, and because
     * nothing writes in place to an operand that is not a parameter. {@code make} gets a scope of its own (its
     * intermediates are freed) and must not ask for another constant.
     */
    public NDArray constant(String key, Function<Ops, NDArray> make) {
        return constants.computeIfAbsent(key, k -> {
            try (GradMode g = GradMode.off(); Ops tmp = Ops.scope(manager)) {
                return tmp.keep(make.apply(tmp), Ops.into(manager));
            }
        });
    }

    /** Number of scalar parameters, each shared tensor counted once (as PyTorch's {@code parameters()}). */
    public long parameterCount() {
        long n = 0;
        for (NDArray w : weights.values()) {
            n += w.getShape().size();
        }
        return n;
    }

    public DataType dataType() {
        return weights.values().iterator().next().getDataType();
    }

    @Override
    public void close() {
        manager.close();
    }
}
