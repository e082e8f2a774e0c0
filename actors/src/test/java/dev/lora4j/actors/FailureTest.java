package dev.lora4j.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.lora4j.api.trial.Failure;
import dev.lora4j.data.DataException;
import dev.lora4j.lora.LoraException;
import dev.lora4j.train.NonFiniteLossException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemException;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

class FailureTest {
    @Test
    void exceptionsAreClassifiedWhereTheyAreCaught() {
        assertInstanceOf(Failure.OutOfMemory.class, Failure.of(new OutOfMemoryError("Java heap space")));
        assertInstanceOf(Failure.OutOfMemory.class, Failure.of(new RuntimeException(
                "[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")));
        assertInstanceOf(Failure.OutOfMemory.class, Failure.of(new RuntimeException("CUDA out of memory.")));
        assertInstanceOf(Failure.Diverged.class, Failure.of(new NonFiniteLossException(3, Double.NaN)));
        assertInstanceOf(Failure.BadConfig.class, Failure.of(new LoraException("Target modules {'x'} not found")));
        assertInstanceOf(Failure.BadConfig.class, Failure.of(new LoraException("r=2000000000 would run out of memory")),
                "lora4j's own refusals are classified by type, whatever their words");
        Failure disk = Failure.of(new CompletionException(new UncheckedIOException("cannot write x",
                new FileSystemException("x: No space left on device"))));
        assertInstanceOf(Failure.Storage.class, disk);
        assertEquals("cannot write x", disk.message());
        Failure bug = Failure.of(new NullPointerException());
        assertEquals(new Failure.Internal("NullPointerException"), bug);
        assertTrue(bug.retryable());
    }

    @Test
    void badDataAndBadConfigsNeverRetry() {
        assertFalse(Failure.of(new DataException("row 3: no text")).retryable());
        assertFalse(Failure.of(new LoraException("r must be positive")).retryable());
        assertTrue(Failure.of(new IOException("disk")).retryable());
    }

    @Test
    void kindsRoundTripThroughResultFiles() {
        for (Failure f : new Failure[] {new Failure.OutOfMemory("a"), new Failure.Diverged("b"),
            new Failure.BadData("c"), new Failure.BadConfig("d"), new Failure.DeviceLost("e"),
            new Failure.Storage("f"), new Failure.Cancelled("g"), new Failure.Internal("h")}) {
            assertEquals(f, Failure.of(f.kind(), f.message()));
        }
    }
}
