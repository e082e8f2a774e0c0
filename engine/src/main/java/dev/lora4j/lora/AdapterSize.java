package dev.lora4j.lora;

import dev.lora4j.config.ConfigError;
import dev.lora4j.config.ConfigException;
import dev.lora4j.config.InitLoraWeights;
import dev.lora4j.config.LoraConfig;
import dev.lora4j.config.PatternKeys;
import dev.lora4j.model.ModuleNode;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Locale;

/**
 * Whether the ranks of a config can be allocated on a model, checked once the targeted modules are known and before
 * anything is allocated. PEFT accepts any {@code r >= 1} (also above min(in_features, out_features), which is legal
 * and trains) and fails with an out-of-memory error when it creates a layer whose LoRA tensors do not fit; lora4j
 * refuses such a rank up front, naming {@code lora.r} (or the {@code rank_pattern} key that set it):
 * <ul>
 *   <li>each LoRA tensor is staged in one Java array, so it holds at most {@link #MAX_VALUES} values and must fit in
 *       the Java heap;
 *   <li>the adapter's float32 weights together must fit in the machine's memory;
 *   <li>PiSSA and OLoRA take r singular (or QR) vectors of each weight, so r may not exceed
 *       min(in_features, out_features) (PEFT silently uses fewer and writes an adapter it cannot load back).
 * </ul>
 */
final class AdapterSize {
    /** The most values one Java array (a LoRA tensor's staging copy) can hold. */
    static final long MAX_VALUES = Integer.MAX_VALUE - 8;

    private AdapterSize() {}

    /** The memory lora4j may use: the machine's physical memory (the container's limit inside one). */
    static long machineMemory() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            long total = os.getTotalMemorySize();
            if (total > 0) {
                return total;
            }
        }
        return Long.MAX_VALUE;
    }

    static void check(LoraConfig c, List<ModuleNode> targeted) {
        check(c, targeted, machineMemory(), Runtime.getRuntime().maxMemory());
    }

    /** Throws a {@link ConfigException} naming the field when a rank cannot be allocated. */
    static void check(LoraConfig c, List<ModuleNode> targeted, long memory, long heap) {
        long total = 0;
        String biggestField = "lora.r";
        long biggest = -1;
        InitLoraWeights.Kind init = c.initLoraWeights().kind();
        boolean decomposes = init == InitLoraWeights.Kind.PISSA || init == InitLoraWeights.Kind.PISSA_NITER
                || init == InitLoraWeights.Kind.OLORA;
        for (ModuleNode m : targeted) {
            String key = m.path();
            int r = c.rankFor(key);
            if (r <= 0) {
                continue; // the adapter reports PEFT's own error for this
            }
            boolean embedding = m.kind() == ModuleNode.Kind.EMBEDDING;
            long in = embedding ? m.weightShape()[0] : m.inFeatures();
            long out = embedding ? m.weightShape()[1] : m.outFeatures();
            String field = PatternKeys.find(c.rankPattern().keySet(), key).map(k -> "lora.rank_pattern." + k)
                    .orElse("lora.r");
            String rank = field.equals("lora.r") ? "r=" + r : "rank " + r;
            long a = r * in;
            long b = out * r;
            if (a > MAX_VALUES || b > MAX_VALUES) {
                boolean isA = a >= b;
                throw refuse(field, rank + " cannot be allocated: " + key + " (" + m.describe() + ") would get a "
                        + (isA ? "lora_A of " + r + " x " + in : "lora_B of " + out + " x " + r) + " = "
                        + Math.max(a, b) + " values (" + gib(4.0 * Math.max(a, b)) + " as float32), more than the "
                        + MAX_VALUES + " values lora4j holds in one tensor; r may be at most "
                        + MAX_VALUES / Math.max(in, out) + " for this module (PEFT accepts any r >= 1 and fails when it "
                        + "allocates the layer)");
            }
            if (4.0 * Math.max(a, b) > heap) {
                throw refuse(field, rank + " cannot be allocated: " + key + " would get a "
                        + (a >= b ? "lora_A of " + r + " x " + in : "lora_B of " + out + " x " + r) + " ("
                        + gib(4.0 * Math.max(a, b)) + " as float32), more than the Java heap (" + gib(heap) + ", -Xmx); "
                        + "r may be at most " + heap / 4 / Math.max(in, out) + " for this module");
            }
            if (decomposes && !embedding && r > Math.min(in, out)) {
                throw refuse(field, rank + " is larger than " + key + " allows with init_lora_weights \""
                        + c.initLoraWeights() + "\": it takes r singular (or QR) vectors of the " + out + " x " + in
                        + " weight, so r may be at most min(in_features, out_features) = " + Math.min(in, out)
                        + " (PEFT silently uses " + Math.min(in, out) + " and writes an adapter it cannot load back)");
            }
            long values = a + b + (c.loraBias() ? out : 0) + (c.useDora() ? out : 0);
            total = total > Long.MAX_VALUE - values ? Long.MAX_VALUE : total + values;
            if (values > biggest) {
                biggest = values;
                biggestField = field;
            }
        }
        if (total > memory / 4) {
            throw refuse(biggestField, "the adapter would hold " + total + " parameters (" + gib(4.0 * total)
                    + " as float32; training needs about four times that for gradients and AdamW's moments), more "
                    + "than this machine's " + gib(memory) + " of memory; lower r (or the rank_pattern ranks) or "
                    + "target fewer modules");
        }
    }

    private static ConfigException refuse(String field, String message) {
        return new ConfigException(List.of(new ConfigError(field, message)));
    }

    private static String gib(double bytes) {
        return String.format(Locale.ROOT, "%.1f GiB", bytes / (1L << 30));
    }
}
