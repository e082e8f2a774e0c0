package dev.lora4j.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class DevicePoolTest {
    static final ActorTestKit kit = ActorTestKit.create();

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
    }

    @Test
    void leasesSpreadOverLanesThenWaitUntilReleased() {
        ActorRef<DevicePool.Command> pool = kit.spawn(DevicePool.create(List.of(
                new DevicePool.DeviceLayout("cpu", 2, 2, 1))));
        TestProbe<DevicePool.Leased> probe = kit.createTestProbe();
        pool.tell(new DevicePool.Lease("a", probe.getRef()));
        pool.tell(new DevicePool.Lease("b", probe.getRef()));
        DevicePool.Leased a = probe.receiveMessage();
        DevicePool.Leased b = probe.receiveMessage();
        assertNotEquals(a.slot().lane(), b.slot().lane(), "the first two trials go to different lanes");
        pool.tell(new DevicePool.Lease("c", probe.getRef()));
        pool.tell(new DevicePool.Lease("d", probe.getRef()));
        probe.receiveSeveralMessages(2);
        pool.tell(new DevicePool.Lease("e", probe.getRef()));
        probe.expectNoMessage(Duration.ofMillis(200));
        TestProbe<DevicePool.Status> status = kit.createTestProbe();
        pool.tell(new DevicePool.GetStatus(status.getRef()));
        DevicePool.Status s = status.receiveMessage();
        assertEquals(0, s.free());
        assertEquals(4, s.total());
        assertEquals(1, s.waiting());
        pool.tell(new DevicePool.Release(b.slot()));
        DevicePool.Leased e = probe.receiveMessage();
        assertEquals("e", e.trialId());
        assertEquals(b.slot(), e.slot(), "the waiting lease gets the released slot");
    }

    @Test
    void unknownReleaseIsIgnored() {
        ActorRef<DevicePool.Command> pool = kit.spawn(DevicePool.create(List.of(
                new DevicePool.DeviceLayout("gpu:0", 1, 1, 1))));
        pool.tell(new DevicePool.Release(new DeviceSlot("gpu:0", 0, 0, 1)));
        TestProbe<DevicePool.Status> status = kit.createTestProbe();
        pool.tell(new DevicePool.GetStatus(status.getRef()));
        assertEquals(1, status.receiveMessage().free());
    }
}
