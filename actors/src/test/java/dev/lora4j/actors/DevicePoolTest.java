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
import java.util.Set;
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

    /** A pool over a fresh local host whose lanes run {@code runs}. */
    static ActorRef<DevicePool.Command> pool(FakeRuns runs) {
        return kit.spawn(DevicePool.create(kit.spawn(LaneHost.create(Rig.node(kit, "local"), runs, List.of(),
                false))));
    }

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
        ActorRef<DevicePool.Command> pool = pool(new FakeRuns());
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
        ActorRef<DevicePool.Command> pool = pool(new FakeRuns().fault("t", 1, FakeRuns.Fault.KILL_LANE));
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
        ActorRef<DevicePool.Command> pool = pool(new FakeRuns().fault("t", 1, FakeRuns.Fault.KILL_LANE));
        TestProbe<DevicePool.LeaseReply> replies = kit.createTestProbe();
        List<DevicePool.DeviceLayout> one = List.of(new DevicePool.DeviceLayout("cpu", 1, 1, 1));
        TestProbe<Object> holder = kit.createTestProbe();
        DevicePool.Leased first = lease(pool, holder, "t", one, replies);
        // a trial whose step throws an Error the lane does not catch: the lane dies
        TestProbe<Trainer.Report> owner = kit.createTestProbe();
        first.lane().tell(new Trainer.Train(TrialModel.of(Specs.trial("t", 4, 0, 0), "cpu", null, null),
                new TrialData(null, List.of(), new Objective.CausalLm()), TrialRun.Settings.of(
                        Specs.trial("t", 4, 0, 0).training(), "eval_loss", false), null, Set.of(), false,
                owner.getRef(), owner.getRef()));
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

    @Test
    void otherNodesLanesPreferTheDeviceThatHoldsTheTrialsBaseAndServeOnlyLeasesThatAllowThem() {
        // an actor system of its own: the hosts it registers would be every pool's lanes
        ActorTestKit kit = ActorTestKit.create(ConfigFactory.load());
        try {
            preferWarmLanes(kit);
        } finally {
            kit.shutdownTestKit();
        }
    }

    private static void preferWarmLanes(ActorTestKit kit) {
        // two hosts registered with the receptionist, as workers' are; this pool has no lanes of its own
        kit.spawn(LaneHost.create(Rig.node(kit, "worker-1"), new FakeRuns(), CPU_1, true));
        kit.spawn(LaneHost.create(Rig.node(kit, "worker-2"), new FakeRuns(), CPU_1, true));
        ActorRef<DevicePool.Command> pool = kit.spawn(DevicePool.create(null));
        TestProbe<DevicePool.LeaseReply> replies = kit.createTestProbe();
        TestProbe<Object> probe = kit.createTestProbe();
        probe.awaitAssert(() -> {
            assertEquals(2, status(kit, pool).lanes().size());
            return null;
        });
        // a lease that allows no remote lanes waits however many there are
        TestProbe<Object> local = kit.createTestProbe();
        pool.tell(new DevicePool.Lease(local.getRef(), "local-only", "m", List.of(), 0, replies.getRef()));
        replies.expectNoMessage(Duration.ofMillis(200));
        pool.tell(new DevicePool.Release(local.getRef()));
        TestProbe<Object> a = kit.createTestProbe();
        TestProbe<Object> b = kit.createTestProbe();
        DevicePool.Leased first = remote(pool, a, "a", "base-z", replies);
        DevicePool.Leased second = remote(pool, b, "b", "base-x", replies);
        assertNotEquals(first.node(), second.node());
        pool.tell(new DevicePool.Release(a.getRef()));
        pool.tell(new DevicePool.Release(b.getRef()));
        // both lanes are free: the trial on base-x goes where base-x was, not to the first lane
        for (int i = 0; i < 3; i++) {
            TestProbe<Object> c = kit.createTestProbe();
            assertEquals(second.node(), remote(pool, c, "c" + i, "base-x", replies).node());
            pool.tell(new DevicePool.Release(c.getRef()));
        }
        assertEquals(first.node(), remote(pool, kit.createTestProbe(), "d", "base-z", replies).node());
    }

    static final List<DevicePool.DeviceLayout> CPU_1 = List.of(new DevicePool.DeviceLayout("cpu", 1, 1, 1));

    static DevicePool.Status status(ActorTestKit kit, ActorRef<DevicePool.Command> pool) {
        TestProbe<DevicePool.Status> p = kit.createTestProbe();
        pool.tell(new DevicePool.GetStatus(p.getRef()));
        return p.receiveMessage();
    }

    static DevicePool.Leased remote(ActorRef<DevicePool.Command> pool, TestProbe<?> holder, String id, String base,
            TestProbe<DevicePool.LeaseReply> replies) {
        pool.tell(new DevicePool.Lease(holder.getRef(), id, base, List.of(), 1, replies.getRef()));
        return assertInstanceOf(DevicePool.Leased.class, replies.receiveMessage());
    }
}
