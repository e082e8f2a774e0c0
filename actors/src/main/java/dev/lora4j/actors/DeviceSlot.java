package dev.lora4j.actors;

/**
 * Where a trial trains: a device ({@code cpu}, {@code gpu:0}) and a lane on it. Trials on the same lane share one
 * thread and advance in turn; lanes of one CPU run side by side, {@code threads} intra-op threads each.
 */
public record DeviceSlot(String device, int lane, int threads) {
    /** The lane's name, e.g. {@code cpu-0} or {@code gpu-1-0}. */
    public String laneName() {
        return device.replace(':', '-') + "-" + lane;
    }
}
