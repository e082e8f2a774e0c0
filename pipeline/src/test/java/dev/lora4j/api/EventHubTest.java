package dev.lora4j.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.api.trial.TrialEvent;
import dev.lora4j.train.StepReport;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class EventHubTest {
    static final ActorTestKit kit = ActorTestKit.create();

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
    }

    static TrialEvent progress(int i) {
        return new TrialEvent.Progress("t", "t", new StepReport(i, 2000, 0, 1, 1e-3, 1, 1, 1, 1, 1));
    }

    @Test
    void aSlowSubscriberLosesProgressButNeverLifecycleEvents() throws Exception {
        EventHub hub = EventHub.start(kit.system(), 10);
        CompletionStage<List<TrialEvent>> slow = hub.subscribe().throttle(1, Duration.ofMillis(2))
                .runWith(Sink.seq(), kit.system());
        Thread.sleep(200); // the subscription attaches asynchronously
        long t0 = System.nanoTime();
        for (int i = 0; i < 2000; i++) {
            hub.input().tell(progress(i));
            if (i % 100 == 0) {
                hub.input().tell(new TrialEvent.Evaluated("t", "t", i, Map.of("eval_loss", 1.0), false));
            }
        }
        long sendMillis = (System.nanoTime() - t0) / 1_000_000;
        hub.complete();
        List<TrialEvent> got = slow.toCompletableFuture().get(60, TimeUnit.SECONDS);
        List<Long> evals = got.stream().filter(e -> e instanceof TrialEvent.Evaluated)
                .map(e -> ((TrialEvent.Evaluated) e).step()).toList();
        assertEquals(20, evals.size(), "every lifecycle event arrives");
        for (int i = 1; i < evals.size(); i++) {
            assertTrue(evals.get(i - 1) < evals.get(i), "in order");
        }
        long progress = got.stream().filter(TrialEvent::droppable).count();
        assertTrue(progress < 2000, "a 2 ms/event subscriber dropped progress: got " + progress);
        assertTrue(sendMillis < 2000, "sending never waits for subscribers: " + sendMillis + " ms");
    }

    @Test
    void backlogKeepsTheNewestProgress() {
        EventHub.Backlog b = new EventHub.Backlog(2);
        b.add(progress(1)).add(new TrialEvent.Queued("a", "a", 0)).add(progress(2)).add(progress(3));
        List<TrialEvent> d = b.drain();
        assertEquals(3, d.size());
        assertTrue(d.get(0) instanceof TrialEvent.Queued);
        assertEquals(2, ((TrialEvent.Progress) d.get(1)).report().step());
    }
}
