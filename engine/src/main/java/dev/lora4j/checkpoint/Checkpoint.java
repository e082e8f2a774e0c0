package dev.lora4j.checkpoint;

import dev.lora4j.lora.AdapterSnapshot;
import dev.lora4j.lora.HostTensor;
import java.util.Map;

/** A trial at one step: its adapter, its AdamW moments (by parameter name) and its trainer state. */
public record Checkpoint(TrainerState state, AdapterSnapshot adapter, Map<String, HostTensor> firstMoments,
        Map<String, HostTensor> secondMoments) {}
