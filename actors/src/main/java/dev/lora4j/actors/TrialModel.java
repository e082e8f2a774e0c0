package dev.lora4j.actors;

import dev.lora4j.lora.Adapter;
import dev.lora4j.model.BaseModel;
import dev.lora4j.sweep.TrialSpec;

/** A trial ready to train: its spec, its slot, the shared frozen base on that device, and its own adapter. */
public record TrialModel(TrialSpec spec, DeviceSlot slot, ModelInjector.BaseKey key, BaseModel base,
        Adapter adapter) {}
