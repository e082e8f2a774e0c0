package dev.lora4j.cli;

import dev.lora4j.config.TaskType;
import dev.lora4j.model.BaseModel;
import dev.lora4j.model.Builtins;
import dev.lora4j.model.HfModels;
import dev.lora4j.runtime.Torch;
import picocli.CommandLine.Option;

/** The options every command that loads a base model shares. */
final class ModelOptions {
    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "Hugging Face model folder (config.json + model.safetensors), or builtin:NAME")
    String model;

    @Option(names = "--task", paramLabel = "TASK",
            description = "Model head: CAUSAL_LM, SEQ_CLS or FEATURE_EXTRACTION (default: the adapter's task_type,"
                    + " else the architecture's default)")
    String task;

    @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "cpu",
            description = "cpu, gpu or gpu:N (default: ${DEFAULT-VALUE})")
    String device;

    /** The --task given, or null. */
    TaskType task() {
        return task == null ? null : TaskType.parse(task).orElseThrow(() ->
                new IllegalArgumentException("--task " + task + ": expected one of " + TaskType.allowed()));
    }

    BaseModel load(TaskType fallback) {
        TaskType t = task == null ? fallback : TaskType.parse(task).orElseThrow(() ->
                new IllegalArgumentException("--task " + task + ": expected one of " + TaskType.allowed()));
        return HfModels.load(Builtins.resolve(model), HfModels.Options.cpu().withDevice(Torch.device(device))
                .withTask(t));
    }
}
