package io.streamdiffusion4j.cli;

import io.streamdiffusion4j.convert.DiffusersConverter;
import io.streamdiffusion4j.convert.LoraMerge;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code convert}: a diffusers folder to the ONNX layout the pipeline loads, in Java. */
@Command(name = "convert", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Converts a diffusers Stable Diffusion folder (safetensors) into ONNX (Optimum layout),",
                "merging LoRAs on the way. A taesd/ subfolder (AutoencoderTiny) is converted too.",
                "A diffusers ControlNetModel folder (config.json + safetensors) becomes model.onnx + config.json."})
final class ConvertCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--from", required = true, paramLabel = "DIR", description = "diffusers folder (model_index.json, unet/, ...)")
    Path from;

    @Option(names = "--to", required = true, paramLabel = "DIR", description = "output folder (must be empty or absent)")
    Path to;

    @Option(names = "--fp16", description = "store weights and compute in float16 (inputs and outputs stay float32)")
    boolean fp16;

    @Mixin
    QuantizeOption quantize = new QuantizeOption();

    @Option(names = "--lora", paramLabel = "FILE[:SCALE]",
            description = "merge a LoRA (diffusers/PEFT or kohya format) with a scale (default 1.0); repeatable")
    List<String> loras = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        var quantization = quantize.resolve(fp16);
        List<LoraMerge.LoraFile> files = new ArrayList<>();
        for (String l : loras) files.add(LoraMerge.LoraFile.parse(l));
        long start = System.nanoTime();
        if (DiffusersConverter.isControlNetFolder(from)) {
            if (!files.isEmpty() || quantization.unet()) {
                throw new IllegalArgumentException(from + " is a ControlNet: --lora and --quantize apply to Stable Diffusion models");
            }
            try (Progress p = new Progress("convert", System.err)) {
                DiffusersConverter.convertControlNet(from, to, fp16, p);
            }
            spec.commandLine().getErr().printf("converted ControlNet %s -> %s in %.1f s%n", from, to, (System.nanoTime() - start) / 1e9);
            return 0;
        }
        try (Progress p = new Progress("convert", System.err)) {
            DiffusersConverter.convert(from, to, new DiffusersConverter.Options(fp16, files, quantization), p);
        }
        spec.commandLine().getErr().printf("converted %s -> %s in %.1f s%n", from, to, (System.nanoTime() - start) / 1e9);
        return 0;
    }
}
