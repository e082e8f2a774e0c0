package dev.lora4j.api;

import dev.lora4j.actors.DataLoader;
import dev.lora4j.actors.ModelInjector;
import dev.lora4j.actors.TrainingRun;
import dev.lora4j.lora.Adapter;
import dev.lora4j.model.HfModels;
import dev.lora4j.runtime.Torch;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * What the actors call to do tensor work: load a base, create an adapter, open a trial's data, run its training.
 * {@link #engine()} is DJL's PyTorch engine; the pipeline's tests plug in stand-ins to run thousands of trials in
 * seconds or to inject faults.
 */
record EngineParts(ModelInjector.Loader loader, ModelInjector.AdapterFactory adapters,
        Function<ActorSystem<?>, DataLoader.Opener> data, TrainingRun.Factory runs) {

    static EngineParts engine() {
        return new EngineParts(
                (key, s) -> HfModels.load(s.model(), s.task(), Torch.device(key.device()), s.training().precision()),
                (base, s) -> Adapter.create(base, s.lora(), s.training().seed()),
                DataLoader::engine,
                TrainingRun.engine());
    }
}
