package dev.lora4j.runtime;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import java.util.Locale;

/**
 * Starts DJL's PyTorch engine the only way lora4j allows: offline, without telemetry, from the native library on
 * the classpath. Every code path that touches tensors goes through here first, so running from an IDE, a test or
 * an embedding app never reaches the network.
 */
public final class Torch {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Torch.class);
    private static volatile Engine engine;
    private static volatile NDManager system;

    private Torch() {}

    /** The PyTorch engine, started on first use with offline settings. */
    public static Engine engine() {
        Engine e = engine;
        if (e == null) {
            synchronized (Torch.class) {
                e = engine;
                if (e == null) {
                    offline();
                    setIfAbsent("ai.djl.default_engine", "PyTorch");
                    // one inter-op thread: lora4j parallelises across trials, not across ops of one graph
                    setIfAbsent("ai.djl.pytorch.num_interop_threads", "1");
                    e = Engine.getEngine("PyTorch");
                    engine = e;
                }
            }
        }
        return e;
    }

    /**
     * Tells every DJL component (the engine, the tokenizers' native library, telemetry) not to touch the network:
     * native libraries come from the jars on the classpath, nothing is downloaded or reported. Call before first use
     * of any DJL class; an explicit setting by the user wins.
     */
    public static void offline() {
        setIfAbsent("ai.djl.offline", "true");
        setIfAbsent("OPT_OUT_TRACKING", "true");
    }

    /** JVM-wide settings are the app's too: lora4j sets one only if unset, and says so once, so it is never silent. */
    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
            LOG.info("lora4j set {}={} (unset before; set it yourself before lora4j starts DJL to choose)", key,
                    value);
        }
    }

    /** A new root manager on {@code device}; the caller closes it. */
    public static NDManager newManager(Device device) {
        return engine().newBaseManager(device);
    }

    /**
     * Parses a device spec: {@code cpu}, {@code gpu}, {@code gpu:N} or {@code cuda:N}. GPUs need a CUDA libtorch
     * (see docs/djl.md); asking for one that is not there is an error naming what exists.
     */
    public static Device device(String spec) {
        String s = spec.trim().toLowerCase(Locale.ROOT);
        if (s.equals("cpu")) {
            return Device.cpu();
        }
        int idx = 0;
        String kind = s;
        int colon = s.indexOf(':');
        if (colon >= 0) {
            kind = s.substring(0, colon);
            try {
                idx = Integer.parseInt(s.substring(colon + 1));
            } catch (NumberFormatException ex) {
                throw new IllegalArgumentException("device '" + spec + "': expected cpu, gpu or gpu:N");
            }
        }
        if (!kind.equals("gpu") && !kind.equals("cuda")) {
            throw new IllegalArgumentException("device '" + spec + "': expected cpu, gpu or gpu:N");
        }
        int count = engine().getGpuCount();
        if (idx < 0 || idx >= count) {
            throw new IllegalArgumentException("device '" + spec + "' is not available: this libtorch sees "
                    + count + " GPU(s)" + (count == 0 ? " (a CUDA libtorch is needed, see docs/djl.md)" : ""));
        }
        return Device.gpu(idx);
    }

    /**
     * How many native arrays are alive right now, in every manager of the PyTorch engine (every manager lora4j or
     * DJL makes descends from DJL's system manager; a closed manager or array no longer counts). For tests and leak
     * checks: a soak test compares the count before and after a sweep. It walks every manager, so it is not for a
     * hot loop, and with other threads at work the count is a snapshot.
     */
    public static int liveArrays() {
        return systemManager().getManagedArrays().size();
    }

    private static NDManager systemManager() {
        NDManager s = system;
        if (s == null) {
            // PtNDManager.getSystemManager() is package-private; every base manager's parent is the system manager
            try (NDManager probe = engine().newBaseManager()) {
                s = probe.getParentManager();
            }
            system = s;
        }
        return s;
    }

    /** Intra-op threads of the calling thread's libtorch pool (process-wide in libtorch). */
    public static void setThreads(int threads) {
        engine();
        JniUtils.setNumThreads(threads);
    }

    public static int threads() {
        engine();
        return JniUtils.getNumThreads();
    }

    /** Seeds libtorch's generator (dropout masks, random init done in libtorch). */
    public static void seed(long seed) {
        engine();
        JniUtils.setSeed(seed);
    }
}
