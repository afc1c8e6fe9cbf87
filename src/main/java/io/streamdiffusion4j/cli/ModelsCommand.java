package io.streamdiffusion4j.cli;

import io.streamdiffusion4j.convert.ModelPreset;
import io.streamdiffusion4j.convert.RandomModels;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code models}: models the project makes itself. */
@Command(name = "models", mixinStandardHelpOptions = true,
        description = "Models the project makes itself.",
        subcommands = {ModelsCommand.Create.class, CommandLine.HelpCommand.class})
final class ModelsCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "create", mixinStandardHelpOptions = true, sortOptions = false,
            description = {"Creates a Stable Diffusion model with random weights in the diffusers layout (with a TAESD",
                    "in taesd/): tiny (seconds, for tests and demos), sd-turbo or sd15 (full size, for benchmarks),",
                    "bk-sdm-tiny or sdxs (small one-step UNets, random weights; sdxs has its tiny VAE in vae/ and",
                    "the full one in vae_large/, as the published repository does), tiny-sdxl (the SDXL layout at",
                    "toy sizes, for tests) or sdxl-turbo (full size: 3.5 B weights, 13 GB on disk).",
                    "Use the folder as --model directly (it is converted to ONNX once) or with convert."})
    static final class Create implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--config", required = true, paramLabel = "tiny|sd-turbo|sd15|bk-sdm-tiny|sdxs|tiny-sdxl|sdxl-turbo", description = "architecture")
        String config;

        @Option(names = "--seed", defaultValue = "0", description = "seed of the random weights (default ${DEFAULT-VALUE})")
        long seed;

        @Option(names = "--to", required = true, paramLabel = "DIR", description = "output folder (must be empty or absent)")
        Path to;

        @Override
        public Integer call() throws Exception {
            ModelPreset preset = ModelPreset.parse(config);
            long start = System.nanoTime();
            try (Progress p = new Progress("create " + preset.key(), System.err)) {
                p.start(RandomModels.parameterCount(preset));
                RandomModels.create(preset, seed, to, p::advance);
            }
            spec.commandLine().getErr().printf("created %s (%,d weights, seed %d) in %s in %.1f s%n", preset.key(),
                    RandomModels.parameterCount(preset), seed, to, (System.nanoTime() - start) / 1e9);
            return 0;
        }
    }
}
