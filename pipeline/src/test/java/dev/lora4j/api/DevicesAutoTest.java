package dev.lora4j.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.lora4j.actors.DevicePool;
import dev.lora4j.run.Device;
import dev.lora4j.run.Resources;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code trials_per_device: auto}: as many trials as the estimate says fit, never fewer than one. */
class DevicesAutoTest {
    private static Resources auto(Device... devices) {
        return new Resources(List.of(devices), Resources.AUTO, null);
    }

    @Test
    void aGpuTakesAsManyTrialsAsFit() {
        List<DevicePool.DeviceLayout> l = Devices.layout(auto(Device.gpu(0), Device.gpu(1)), 0, 1, 2,
                d -> d.index() == 0 ? 7 : 3);
        assertEquals(List.of(new DevicePool.DeviceLayout("gpu:0", 1, 7, 1),
                new DevicePool.DeviceLayout("gpu:1", 1, 3, 1)), l);
    }

    @Test
    void theCpusLanesShareWhatFitsAndNoLaneIsEmpty() {
        // 8 cores, one thread per lane: 8 lanes; 20 trials fit: 2 per lane (16 in all, never more than fit)
        assertEquals(List.of(new DevicePool.DeviceLayout("cpu", 8, 2, 1)),
                Devices.layout(auto(Device.CPU), 0, 1, 8, d -> 20));
        // 3 fit: 3 lanes of one
        assertEquals(List.of(new DevicePool.DeviceLayout("cpu", 3, 1, 1)),
                Devices.layout(auto(Device.CPU), 0, 1, 8, d -> 3));
        // none fits: one trial still runs (the out-of-memory back-off is the safety net)
        assertEquals(List.of(new DevicePool.DeviceLayout("cpu", 1, 1, 1)),
                Devices.layout(auto(Device.CPU), 0, 1, 8, d -> 0));
    }

    @Test
    void aNumberIsTakenAsWritten() {
        assertEquals(List.of(new DevicePool.DeviceLayout("cpu", 2, 3, 1)),
                Devices.layout(new Resources(List.of(Device.CPU), 3, null), 0, 1, 2, d -> 100));
    }
}
