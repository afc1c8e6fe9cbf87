package io.streamdiffusion4j.convert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamdiffusion4j.files.CacheEntry;
import io.streamdiffusion4j.files.FolderManifest;
import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.files.InputFiles;
import io.streamdiffusion4j.weights.WeightFiles;
import io.streamdiffusion4j.weights.WeightSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Converts a diffusers Stable Diffusion folder (safetensors weights + JSON configs) into the
 * Optimum ONNX layout the pipeline loads: {@code text_encoder/, unet/, vae_encoder/,
 * vae_decoder/} each with {@code config.json, model.onnx, model.onnx_data}, plus the tokenizer,
 * scheduler and model_index.json copied. A TAESD in {@code taesd/} (diffusers AutoencoderTiny),
 * or a {@code vae/} that is an AutoencoderTiny (SDXS; its full VAE is then {@code vae_large/}),
 * becomes {@code taesd/vae_encoder, taesd/vae_decoder}. LoRAs are merged into the UNet and text
 * encoder weights on the way. Output is written to a temporary folder, sealed with a
 * {@link FolderManifest} (sizes and checksums, so a later reader can tell a damaged copy) and
 * moved into place at the end, so an interrupted conversion leaves nothing half-written behind.
 */
public final class DiffusersConverter {

    /** What to produce. */
    public record Options(boolean half, List<LoraMerge.LoraFile> loras, Quantization quantize) {
        public Options {
            loras = List.copyOf(loras);
            quantize.requireCompatible(half);
        }

        public Options(boolean half, List<LoraMerge.LoraFile> loras) {
            this(half, loras, Quantization.NONE);
        }

        public static Options defaults() {
            return new Options(false, List.of());
        }

        /** The same options without quantization: what is converted before a quantized copy is made. */
        public Options unquantized() {
            return new Options(half, loras, Quantization.NONE);
        }
    }

    /** Progress in weight values: the total first, then how many are written. */
    public interface Progress {
        void start(long totalValues);

        void advance(long valuesDone);

        /** A line worth telling the user (for example what a LoRA merged). */
        default void note(String message) {}

        Progress NONE = new Progress() {
            @Override
            public void start(long totalValues) {}

            @Override
            public void advance(long valuesDone) {}
        };
    }

    private DiffusersConverter() {}

    /** True when {@code dir} looks like a diffusers Stable Diffusion folder. */
    public static boolean isDiffusersFolder(Path dir) {
        return Files.isRegularFile(dir.resolve("model_index.json")) && Files.isRegularFile(dir.resolve("unet/config.json"));
    }

    /** True when {@code dir} is a diffusers AutoencoderTiny (TAESD) folder. */
    public static boolean isTaesdFolder(Path dir) {
        Path config = dir.resolve("config.json");
        if (!Files.isRegularFile(config)) return false;
        try {
            return "AutoencoderTiny".equals(ConfigFiles.text(ConfigFiles.read(config), "_class_name", ""));
        } catch (IOException e) {
            return false;
        }
    }

    public static void convert(Path from, Path to, Options options, Progress progress) throws IOException {
        if (!Files.isDirectory(from)) throw new InputFileException("source folder not found: " + from);
        if (!isDiffusersFolder(from)) {
            throw new InputFileException(from + " is not a diffusers Stable Diffusion folder (expected model_index.json and unet/config.json)");
        }
        for (String part : List.of("tokenizer/vocab.json", "tokenizer/merges.txt", "scheduler/scheduler_config.json",
                "text_encoder/config.json", "vae/config.json")) {
            if (!Files.isRegularFile(from.resolve(part))) throw new InputFileException(from + " is missing " + part);
        }
        // copied into the result, where diffusers and Optimum read it: it must at least be a JSON object
        InputFiles.jsonObject(from.resolve("model_index.json"), "model index");
        requireEmptyTarget(to);
        Path tmp = temporarySibling(to);
        VaeFolders vaes = VaeFolders.of(from);
        List<WeightSource> open = new ArrayList<>();
        try {
            WeightSource unetWeights = open(open, WeightFiles.openFolder(from.resolve("unet")));
            WeightSource textWeights = open(open, WeightFiles.openFolder(from.resolve("text_encoder")));
            boolean sdxl = SdxlTextEncoders.isSdxl(from);
            WeightSource text2Weights = sdxl
                    ? open(open, WeightFiles.openFolder(from.resolve(SdxlTextEncoders.TEXT_ENCODER_2))) : null;
            if (!options.loras().isEmpty()) {
                LoraMerge unetLora = LoraMerge.apply(unetWeights, LoraMerge.Component.UNET, options.loras());
                open.add(unetLora);
                LoraMerge textLora = LoraMerge.apply(textWeights, LoraMerge.Component.TEXT_ENCODER, options.loras());
                open.add(textLora);
                List<LoraMerge> merges = new ArrayList<>(List.of(unetLora, textLora));
                if (sdxl) {
                    LoraMerge text2Lora = LoraMerge.apply(text2Weights, LoraMerge.Component.TEXT_ENCODER_2, options.loras());
                    open.add(text2Lora);
                    merges.add(text2Lora);
                    text2Weights = text2Lora;
                }
                // a LoRA that changes nothing is almost certainly the wrong file: say so instead of converting
                LoraMerge.requireEffect(merges);
                progress.note(LoraMerge.summary(merges));
                unetWeights = unetLora;
                textWeights = textLora;
            }
            Path textConfigFile = from.resolve("text_encoder/config.json");
            Path unetConfigFile = from.resolve("unet/config.json");
            ClipTextConfig textConfig = ClipTextConfig.read(textConfigFile);
            UnetConfig unetConfig = UnetConfig.read(unetConfigFile);
            // every weight against its config first: a mismatch is the user's files, not a graph to cache
            WeightShapes.require(textWeights, WeightSpecs.clipText(textConfig), textConfigFile);
            WeightShapes.require(unetWeights, WeightSpecs.unet(unetConfig), unetConfigFile);
            List<Job> jobs = new ArrayList<>();
            jobs.add(new Job("text_encoder", ClipTextGraph.build(textWeights, textConfig, options.half(), sdxl), textConfigFile));
            if (sdxl) {
                // Stable Diffusion XL: the second text encoder (OpenCLIP bigG with its projection)
                Path text2ConfigFile = from.resolve(SdxlTextEncoders.TEXT_ENCODER_2 + "/config.json");
                if (!Files.isRegularFile(from.resolve(SdxlTextEncoders.TOKENIZER_2 + "/vocab.json"))) {
                    throw new InputFileException(from + " has " + SdxlTextEncoders.TEXT_ENCODER_2 + "/ but no "
                            + SdxlTextEncoders.TOKENIZER_2 + "/vocab.json");
                }
                ClipTextConfig text2Config = ClipTextConfig.read(text2ConfigFile);
                int projection = SdxlTextEncoders.projectionDim(ConfigFiles.read(text2ConfigFile), text2ConfigFile);
                WeightShapes.require(text2Weights, SdxlTextEncoders.withProjection(text2Config, projection), text2ConfigFile);
                jobs.add(new Job(SdxlTextEncoders.TEXT_ENCODER_2, ClipTextGraph.build(text2Weights, text2Config, options.half(), true),
                        text2ConfigFile));
            }
            jobs.add(new Job("unet", UnetGraph.build(unetWeights, unetConfig, options.half()), unetConfigFile));
            if (vaes.full() != null) {
                Path vaeConfigFile = vaes.full().resolve("config.json");
                WeightSource vaeWeights = open(open, WeightFiles.openFolder(vaes.full()));
                AutoencoderKlConfig vae = AutoencoderKlConfig.read(vaeConfigFile);
                WeightShapes.require(vaeWeights, WeightSpecs.autoencoderKl(vae), vaeConfigFile);
                jobs.add(new Job("vae_encoder", AutoencoderKlGraphs.encoder(vaeWeights, vae, options.half()), vaeConfigFile));
                jobs.add(new Job("vae_decoder", AutoencoderKlGraphs.decoder(vaeWeights, vae, options.half()), vaeConfigFile));
            } else {
                progress.note(from + ": vae/ is a tiny VAE (AutoencoderTiny) and there is no vae_large/ with the full"
                        + " AutoencoderKL, so the converted model has only the tiny VAE (use_tiny_vae must stay true)");
            }
            if (vaes.tiny() != null) {
                WeightSource taesd = open(open, WeightFiles.openFolder(vaes.tiny()));
                Path tinyConfigFile = vaes.tiny().resolve("config.json");
                TaesdConfig tc = TaesdConfig.read(tinyConfigFile);
                jobs.add(new Job("taesd/vae_encoder", TaesdGraphs.encoder(taesd, tc, options.half()), tinyConfigFile));
                jobs.add(new Job("taesd/vae_decoder", TaesdGraphs.decoder(taesd, tc, options.half()), tinyConfigFile));
            }
            runJobs(jobs, tmp, progress);
            copyFolder(from.resolve("tokenizer"), tmp.resolve("tokenizer"));
            if (sdxl) copyFolder(from.resolve(SdxlTextEncoders.TOKENIZER_2), tmp.resolve(SdxlTextEncoders.TOKENIZER_2));
            copyFolder(from.resolve("scheduler"), tmp.resolve("scheduler"));
            if (options.quantize().unet()) {
                // after the tokenizer and scheduler: calibrating the UNet runs the model as a stream would
                Int8Quantizer.Report r = Int8Quantizer.quantizeUnetInPlace(tmp, Int8Quantizer.Policy.MEASURED);
                progress.note(r.describe());
                if (options.quantize().taesd() && vaes.tiny() != null) {
                    progress.note(TaesdQuantizer.quantizeInPlace(tmp.resolve("taesd")).describe());
                }
            }
            Files.copy(from.resolve("model_index.json"), tmp.resolve("model_index.json"));
            writeProvenance(tmp, from, options);
        } catch (IOException | RuntimeException e) {
            deleteTree(tmp);
            throw e;
        } finally {
            for (WeightSource w : open) w.close();
        }
        CacheEntry.commit(tmp, to);
    }

    /** Converts a diffusers AutoencoderTiny folder into a TAESD ONNX folder (vae_encoder/, vae_decoder/). */
    public static void convertTaesd(Path from, Path to, boolean half, Progress progress) throws IOException {
        if (!isTaesdFolder(from)) {
            throw new InputFileException(from + " is not a diffusers AutoencoderTiny folder (config.json with _class_name AutoencoderTiny)");
        }
        requireEmptyTarget(to);
        Path tmp = temporarySibling(to);
        try (WeightSource w = WeightFiles.openFolder(from)) {
            TaesdConfig c = TaesdConfig.read(from.resolve("config.json"));
            runJobs(List.of(
                    new Job("vae_encoder", TaesdGraphs.encoder(w, c, half), from.resolve("config.json")),
                    new Job("vae_decoder", TaesdGraphs.decoder(w, c, half), from.resolve("config.json"))), tmp, progress);
        } catch (IOException | RuntimeException e) {
            deleteTree(tmp);
            throw e;
        }
        CacheEntry.commit(tmp, to);
    }

    /** True when {@code dir} is a diffusers ControlNetModel folder (config.json with that _class_name). */
    public static boolean isControlNetFolder(Path dir) {
        Path config = dir.resolve("config.json");
        if (!Files.isRegularFile(config)) return false;
        try {
            return ControlNetConfig.CLASS_NAME.equals(ConfigFiles.text(ConfigFiles.read(config), "_class_name", ""));
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Converts a diffusers ControlNetModel folder (config.json + safetensors weights) into a
     * ControlNet ONNX folder: {@code model.onnx} (+ {@code model.onnx_data}) and the config.json,
     * with the inputs and outputs of {@link io.streamdiffusion4j.model.ControlNetNames}.
     */
    public static void convertControlNet(Path from, Path to, boolean half, Progress progress) throws IOException {
        if (!isControlNetFolder(from)) {
            throw new InputFileException(from + " is not a diffusers ControlNetModel folder (config.json with _class_name "
                    + ControlNetConfig.CLASS_NAME + ")");
        }
        requireEmptyTarget(to);
        Path tmp = temporarySibling(to);
        Path configFile = from.resolve("config.json");
        try (WeightSource w = WeightFiles.openFolder(from)) {
            ControlNetConfig c = ControlNetConfig.read(configFile);
            WeightShapes.require(w, WeightSpecs.controlNet(c), configFile);
            runJobs(List.of(new Job("", ControlNetGraph.build(w, c, half), configFile)), tmp, progress);
        } catch (IOException | RuntimeException e) {
            deleteTree(tmp);
            throw e;
        }
        CacheEntry.commit(tmp, to);
    }

    /**
     * Where a diffusers folder keeps its VAEs. Usually {@code vae/} is the AutoencoderKL and an
     * optional {@code taesd/} (this project's models) the tiny one. Repositories such as
     * IDKiro/sdxs-512-0.9 ship an AutoencoderTiny as {@code vae/} and the full VAE as
     * {@code vae_large/}; the tiny one then becomes the model's TAESD.
     *
     * @param full the AutoencoderKL folder, or null when the repository has none
     * @param tiny the AutoencoderTiny folder, or null
     */
    record VaeFolders(Path full, Path tiny) {
        static VaeFolders of(Path from) throws IOException {
            Path vae = from.resolve("vae");
            if (isTaesdFolder(vae)) {
                Path large = from.resolve("vae_large");
                return new VaeFolders(Files.isRegularFile(large.resolve("config.json")) ? large : null, vae);
            }
            return new VaeFolders(vae, isTaesdFolder(from.resolve("taesd")) ? from.resolve("taesd") : null);
        }
    }

    private record Job(String folder, OnnxGraph graph, Path config) {}

    private static void runJobs(List<Job> jobs, Path out, Progress progress) throws IOException {
        long total = 0;
        for (Job j : jobs) total += j.graph().weightCount();
        progress.start(total);
        long before = 0;
        for (Job j : jobs) {
            Path dir = Files.createDirectories(out.resolve(j.folder()));
            long base = before;
            OnnxWriter.write(j.graph(), dir, done -> progress.advance(base + done));
            before += j.graph().weightCount();
            Files.copy(j.config(), dir.resolve("config.json"));
        }
        progress.advance(total);
    }

    private static WeightSource open(List<WeightSource> open, WeightSource w) {
        open.add(w);
        return w;
    }

    private static void requireEmptyTarget(Path to) throws IOException {
        if (Files.exists(to)) {
            if (!Files.isDirectory(to)) throw new InputFileException("target exists and is not a folder: " + to);
            try (Stream<Path> s = Files.list(to)) {
                if (s.findAny().isPresent()) throw new InputFileException("target folder is not empty: " + to);
            }
            Files.delete(to);
        }
        Path parent = to.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
    }

    private static Path temporarySibling(Path to) throws IOException {
        Path abs = to.toAbsolutePath();
        return Files.createTempDirectory(abs.getParent(), "." + abs.getFileName() + ".partial-");
    }

    private static void writeProvenance(Path dir, Path from, Options options) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode n = json.createObjectNode();
        n.put("converted_by", "streamdiffusion4j convert");
        n.put("source", from.toAbsolutePath().toString());
        n.put("precision", options.half() ? "float16" : "float32");
        n.put("quantize", options.quantize().label());
        var loras = n.putArray("loras");
        for (LoraMerge.LoraFile l : options.loras()) {
            loras.addObject().put("file", l.file().toAbsolutePath().toString()).put("scale", l.scale());
        }
        Path about = from.resolve("streamdiffusion4j.json");
        if (Files.isRegularFile(about)) {
            JsonNode a = json.readTree(about.toFile());
            n.set("source_info", a);
        }
        json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("streamdiffusion4j.json").toFile(), n);
    }

    static void copyFolder(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(from)) {
            for (Path p : s.toList()) {
                if (Files.isRegularFile(p)) Files.copy(p, to.resolve(p.getFileName()));
            }
        }
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }
}
