package io.streamdiffusion4j.cli;

import io.streamdiffusion4j.convert.ControlNetPreset;
import io.streamdiffusion4j.convert.IpAdapterPreset;
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
                    "Use the folder as --model directly (it is converted to ONNX once) or with convert.",
                    "tiny-controlnet, sd15-controlnet, sd-turbo-controlnet: a ControlNetModel folder (config.json and",
                    "safetensors) with random weights, zero convs included, matching tiny, sd15 or sd-turbo.",
                    "IP-Adapters with random weights: tiny-ip-adapter (fits tiny), sd15-ip-adapter, sd-turbo-ip-adapter."})
    static final class Create implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--config", required = true,
                paramLabel = "tiny|sd-turbo|sd15|bk-sdm-tiny|sdxs|tiny-sdxl|sdxl-turbo|tiny-controlnet|sd15-controlnet|sd-turbo-controlnet|tiny-ip-adapter|sd15-ip-adapter|sd-turbo-ip-adapter",
                description = "architecture")
        String config;

        @Option(names = "--seed", defaultValue = "0", description = "seed of the random weights (default ${DEFAULT-VALUE})")
        long seed;

        @Option(names = "--to", required = true, paramLabel = "DIR", description = "output folder (must be empty or absent)")
        Path to;

        @Override
        public Integer call() throws Exception {
            ControlNetPreset controlNet = ControlNetPreset.find(config);
            if (controlNet != null) return createControlNet(controlNet);
            long start = System.nanoTime();
            IpAdapterPreset adapter = IpAdapterPreset.find(config);
            if (adapter != null) {
                try (Progress p = new Progress("create " + adapter.key(), System.err)) {
                    p.start(RandomModels.parameterCount(adapter));
                    RandomModels.create(adapter, seed, to, p::advance);
                }
                spec.commandLine().getErr().printf("created %s for %s (%,d weights, seed %d) in %s in %.1f s%n", adapter.key(),
                        adapter.base().key(), RandomModels.parameterCount(adapter), seed, to, (System.nanoTime() - start) / 1e9);
                return 0;
            }
            ModelPreset preset;
            try {
                preset = ModelPreset.parse(config);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(e.getMessage() + "; or a ControlNet: " + ControlNetPreset.names()
                        + "; or an IP-Adapter: " + IpAdapterPreset.names(), e);
            }
            try (Progress p = new Progress("create " + preset.key(), System.err)) {
                p.start(RandomModels.parameterCount(preset));
                RandomModels.create(preset, seed, to, p::advance);
            }
            spec.commandLine().getErr().printf("created %s (%,d weights, seed %d) in %s in %.1f s%n", preset.key(),
                    RandomModels.parameterCount(preset), seed, to, (System.nanoTime() - start) / 1e9);
            return 0;
        }

        private int createControlNet(ControlNetPreset preset) throws Exception {
            long start = System.nanoTime();
            try (Progress p = new Progress("create " + preset.key(), System.err)) {
                p.start(RandomModels.parameterCount(preset));
                RandomModels.createControlNet(preset, seed, to, p::advance);
            }
            spec.commandLine().getErr().printf("created %s (%,d weights, seed %d, for %s) in %s in %.1f s%n", preset.key(),
                    RandomModels.parameterCount(preset), seed, preset.model().key(), to, (System.nanoTime() - start) / 1e9);
            return 0;
        }
    }
}
