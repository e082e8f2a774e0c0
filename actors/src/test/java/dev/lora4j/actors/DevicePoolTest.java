package dev.lora4j.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.lora4j.train.Objective;
import dev.lora4j.train.TrialData;
import dev.lora4j.train.TrialRun;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class DevicePoolTest {
    static final ActorTestKit kit = ActorTestKit.create(ConfigFactory.load());

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
    }

    static final List<DevicePool.DeviceLayout> CPU_2x2 = List.of(new DevicePool.DeviceLayout("cpu", 2, 2, 1));

    static DevicePool.Leased lease(ActorRef<DevicePool.Command> pool, TestProbe<?> holder, String id,
            List<DevicePool.DeviceLayout> devices, TestProbe<DevicePool.LeaseReply> replies) {
        pool.tell(new DevicePool.Lease(holder.getRef(), id, devices, replies.getRef()));
        return assertInstanceOf(DevicePool.Leased.class, replies.receiveMessage());
    }

    static DevicePool.Status status(ActorRef<DevicePool.Command> pool) {
        TestProbe<DevicePool.Status> p = kit.createTestProbe();
        pool.tell(new DevicePool.GetStatus(p.getRef()));
        return p.receiveMessage();
    }

    @Test
    void leasesSpreadOverLanesThenWaitUntilALaneHasRoom() {
        ActorRef<DevicePool.Command> pool = kit.spawn(DevicePool.create(new FakeRuns()));
        TestProbe<DevicePool.LeaseReply> replies = kit.createTestProbe();
        List<TestProbe<Object>> holders = List.of(kit.createTestProbe(), kit.createTestProbe(),
                kit.createTestProbe(), kit.createTestProbe(), kit.createTestProbe());
        DevicePool.Leased a = lease(pool, holders.get(0), "a", CPU_2x2, replies);
        DevicePool.Leased b = lease(pool, holders.get(1), "b", CPU_2x2, replies);
        assertNotEquals(a.slot().lane(), b.slot().lane(), "the first two trials go to different lanes");
        lease(pool, holders.get(2), "c", CPU_2x2, replies);
        lease(pool, holders.get(3), "d", CPU_2x2, replies);
        pool.tell(new DevicePool.Lease(holders.get(4).getRef(), "e", CPU_2x2, replies.getRef()));
        replies.expectNoMessage(Duration.ofMillis(200));
        DevicePool.Status s = status(pool);
        assertEquals(2, s.lanes().size());
        assertEquals(1, s.waiting());
        pool.tell(new DevicePool.Release(holders.get(1).getRef()));
        DevicePool.Leased e = assertInstanceOf(DevicePool.Leased.class, replies.receiveMessage());
        assertEquals(b.slot(), e.slot(), "the waiting lease gets the lane that has room");
        assertEquals(b.lane(), e.lane());
    }

    @Test
    void sweepsThatShareThePoolShareItsLanes() {
        ActorRef<DevicePool.Command> pool = kit.spawn(DevicePool.create(
                new FakeRuns().fault("t", 1, FakeRuns.Fault.KILL_LANE)));
        TestProbe<DevicePool.LeaseReply> replies = kit.createTestProbe();
        List<DevicePool.DeviceLayout> oneByOne = List.of(new DevicePool.DeviceLayout("cpu", 1, 1, 1));
        lease(pool, kit.createTestProbe(), "first-sweep", oneByOne, replies);
        // a second sweep asks for four lanes of the same CPU: the lane that exists is shared, not multiplied
        List<DevicePool.DeviceLayout> four = List.of(new DevicePool.DeviceLayout("cpu", 4, 1, 1));
        pool.tell(new DevicePool.Lease(kit.createTestProbe().getRef(), "second-sweep", four, replies.getRef()));
        replies.expectNoMessage(Duration.ofMillis(200));
        assertEquals(1, status(pool).lanes().size());
    }

    @Test
    void aDeadLaneIsReplacedAndAStoppedHolderFreesItsLane() {
        ActorRef<DevicePool.Command> pool = kit.spawn(DevicePool.create(
                new FakeRuns().fault("t", 1, FakeRuns.Fault.KILL_LANE)));
        TestProbe<DevicePool.LeaseReply> replies = kit.createTestProbe();
        List<DevicePool.DeviceLayout> one = List.of(new DevicePool.DeviceLayout("cpu", 1, 1, 1));
        TestProbe<Object> holder = kit.createTestProbe();
        DevicePool.Leased first = lease(pool, holder, "t", one, replies);
        // a trial whose step throws an Error the lane does not catch: the lane dies
        TestProbe<Trainer.Report> owner = kit.createTestProbe();
        first.lane().tell(new Trainer.Train(TrialModel.of(Specs.trial("t", 4, 0, 0), "cpu", null, null),
                new TrialData(null, List.of(), new Objective.CausalLm()), TrialRun.Settings.of(
                        Specs.trial("t", 4, 0, 0).training(), "eval_loss", false), null, null, owner.getRef(),
                owner.getRef()));
        TestProbe<Object> watcher = kit.createTestProbe();
        watcher.expectTerminated(first.lane());
        watcher.awaitAssert(() -> {
            DevicePool.LaneStatus lane = status(pool).lanes().get(0);
            assertEquals(1, lane.replaced());
            assertNotEquals(first.lane(), lane.ref());
            return null;
        });
        holder.stop();
        DevicePool.Leased next = lease(pool, kit.createTestProbe(), "u", one, replies);
        assertNotEquals(first.lane(), next.lane(), "the fresh lane");
        assertTrue(status(pool).lanes().get(0).trials().contains("u"));
    }
}
