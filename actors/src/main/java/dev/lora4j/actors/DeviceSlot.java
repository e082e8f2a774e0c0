package dev.lora4j.actors;

/**
 * One place a trial can train: a device ({@code cpu}, {@code gpu:0}) and a lane on it. Trials on the same lane share
 * one trainer thread and advance in turn; lanes of one CPU run side by side, {@code threads} intra-op threads each.
 */
public record DeviceSlot(String device, int lane, int index, int threads) {
    /** The trainer that owns this lane, e.g. {@code cpu-0} or {@code gpu-1-0}. */
    public String trainerName() {
        return device.replace(':', '-') + "-" + lane;
    }
}
