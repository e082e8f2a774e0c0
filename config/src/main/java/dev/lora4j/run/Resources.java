package dev.lora4j.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lora4j.config.Problems;
import dev.lora4j.config.Section;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * Where and how many trials run: the devices ({@code auto}: every GPU found, else the CPU), trials sharing one device
 * ({@code auto}: as many as the memory estimate says fit), and how many failed trials stop a sweep.
 */
public final class Resources extends TreeValue {
    public static final List<String> KEYS = List.of("devices", "trials_per_device", "max_failures");
    /** {@code trials_per_device: auto}: as many trials as fit in the device's memory (see {@code estimate}). */
    public static final int AUTO = 0;

    private final List<Device> devices;
    private final int trialsPerDevice;
    private final Integer maxFailures;

    /** {@code maxFailures} null: a failed trial is not retried (out-of-memory back-off aside). */
    public Resources(List<Device> devices, int trialsPerDevice, Integer maxFailures) {
        this.devices = List.copyOf(devices);
        this.trialsPerDevice = trialsPerDevice;
        this.maxFailures = maxFailures;
    }

    /** The devices listed, in order; empty means {@code auto}. */
    public List<Device> devices() {
        return devices;
    }

    /**
     * Trials per device; with {@code auto}, 1: the least any device takes, so code that does not ask
     * {@link #autoTrialsPerDevice()} never plans zero trials (the sweep's layout replaces it with what fits).
     */
    public int trialsPerDevice() {
        return trialsPerDevice == AUTO ? 1 : trialsPerDevice;
    }

    /** {@code trials_per_device: auto}: the sweep packs as many trials as its memory estimate says fit. */
    public boolean autoTrialsPerDevice() {
        return trialsPerDevice == AUTO;
    }

    public static Resources defaults() {
        return new Resources(List.of(), 1, null);
    }

    /** No explicit list: the engine picks every GPU it finds, else the CPU. */
    public boolean autoDevices() {
        return devices.isEmpty();
    }

    /** How often a failed trial is retried from its last checkpoint (Ray Tune's max_failures); empty: never. */
    public OptionalInt maxFailures() {
        return maxFailures == null ? OptionalInt.empty() : OptionalInt.of(maxFailures);
    }

    public static Resources fromSection(Section s) {
        s.rejectUnknown(KEYS);
        Problems p = s.problems();
        List<Device> devices = new ArrayList<>();
        Optional<JsonNode> d = s.value("devices");
        if (d.isPresent() && !(d.get().isTextual() && d.get().textValue().equals("auto"))) {
            if (!d.get().isArray() || d.get().isEmpty()) {
                p.error(s.path("devices"), "devices must be \"auto\" or a non-empty list such as [cpu] or "
                        + "[gpu:0, gpu:1], got " + Section.show(d.get()));
            } else {
                Set<Device> seen = new LinkedHashSet<>();
                for (int i = 0; i < d.get().size(); i++) {
                    JsonNode e = d.get().get(i);
                    Optional<Device> dev = e.isTextual() ? Device.parse(e.textValue()) : Optional.empty();
                    String at = s.path("devices") + "[" + i + "]";
                    if (dev.isEmpty()) {
                        p.error(at, "a device is \"cpu\" or \"gpu:N\" (N = 0, 1, ...), got " + Section.show(e));
                    } else if (!seen.add(dev.get())) {
                        p.error(at, dev.get() + " is listed twice; use trials_per_device to run several trials on it");
                    } else {
                        devices.add(dev.get());
                    }
                }
            }
        }
        Optional<JsonNode> per = s.value("trials_per_device");
        int perDevice;
        if (per.isPresent() && per.get().isTextual()) {
            perDevice = AUTO;
            if (!per.get().textValue().equals("auto")) {
                p.error(s.path("trials_per_device"), "trials_per_device must be an integer >= 1 or \"auto\" (as many"
                        + " as fit in the device's memory), got " + Section.show(per.get()));
            }
        } else {
            perDevice = s.integer("trials_per_device").orElse(1);
            if (perDevice < 1) {
                p.error(s.path("trials_per_device"), "trials_per_device must be >= 1 or \"auto\" (as many as fit in"
                        + " the device's memory), got " + perDevice);
            }
        }
        Integer maxFailures = s.integerOrNull("max_failures").orElse(null);
        if (maxFailures != null && maxFailures < 0) {
            p.error(s.path("max_failures"), "max_failures must be >= 0, or null for no limit, got " + maxFailures);
        }
        return new Resources(devices, perDevice, maxFailures);
    }

    @Override
    public ObjectNode toTree() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        if (devices.isEmpty()) {
            o.put("devices", "auto");
        } else {
            devices.forEach(dev -> o.withArray("devices").add(dev.toString()));
        }
        if (trialsPerDevice == AUTO) {
            o.put("trials_per_device", "auto");
        } else {
            o.put("trials_per_device", trialsPerDevice);
        }
        o.put("max_failures", maxFailures);
        return o;
    }
}
