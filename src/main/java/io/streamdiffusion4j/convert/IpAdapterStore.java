package io.streamdiffusion4j.convert;

import io.streamdiffusion4j.files.CacheEntry;
import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.weights.SafeTensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * An IP-Adapter made ready for a converted model, once, in the model cache: the model's UNet built
 * again with the adapter's decoupled cross-attention ({@code unet/}, from the converted UNet's own
 * weights, see {@link ConvertedUnetWeights}) and the adapter's image graph ({@code image_encoder/},
 * {@link IpAdapterImageGraph}). Keyed by the content of the model's UNet folder and the adapter's
 * files; the model without an adapter is not touched. Always float32 (an fp16 model's UNet weights
 * are widened).
 */
public final class IpAdapterStore {
    /** Part of the cache key: change it when the variant's graphs change. */
    static final String FORMAT = "ip1";

    private IpAdapterStore() {}

    /** The ready adapter: the UNet folder to load instead of the model's, and the image graph's folder. */
    public record Variant(Path unet, Path imageEncoder, int tokens) {}

    public static Variant prepare(Path cacheRoot, Path onnxModel, IpAdapterFolder adapter, DiffusersConverter.Progress progress)
            throws IOException {
        Path unetFile = onnxModel.resolve("unet/model.onnx");
        if (!Files.isRegularFile(unetFile)) throw new InputFileException(onnxModel + ": no unet/model.onnx");
        ContentDigest digest = new ContentDigest(cacheRoot.resolve("digests.json"));
        String key;
        try {
            key = FORMAT + "|" + digest.folder(onnxModel.resolve("unet")) + "|" + digest.file(adapter.weights()) + "|"
                    + digest.folder(adapter.imageEncoder());
        } finally {
            digest.save();
        }
        Path target = cacheRoot.resolve("converted").resolve("ip-adapter-" + ContentDigest.sha256(key).substring(0, 32));
        try (IpAdapterWeights ip = IpAdapterWeights.open(adapter.weights())) {
            cached(target, tmp -> {
                long t = System.nanoTime();
                writeUnet(onnxModel, tmp, ip);
                ClipVisionConfig vision = ClipVisionConfig.read(adapter.imageEncoder().resolve("config.json"));
                try (SafeTensors w = SafeTensors.open(adapter.imageEncoder().resolve("model.safetensors"))) {
                    OnnxWriter.write(IpAdapterImageGraph.build(w, vision, ip, false), Files.createDirectories(tmp.resolve("image_encoder")), null);
                }
                progress.note(String.format(Locale.ROOT, "IP-Adapter %s built into the UNet of %s (%.1f s, once)",
                        adapter.weights().getFileName(), onnxModel, (System.nanoTime() - t) / 1e9));
            });
            return variant(target, ip.tokens());
        }
    }

    /**
     * The model's UNet built again the way {@link #prepare} builds the adapter's (its weights read
     * back from the converted graph, the same builder and writer), without the adapter: the
     * control a benchmark needs to tell the adapter's own cost from anything the rebuild changes.
     * Cached like an adapter; returns the folder holding {@code model.onnx} and {@code config.json}.
     */
    public static Path rebuiltPlainUnet(Path cacheRoot, Path onnxModel, DiffusersConverter.Progress progress) throws IOException {
        Path unetFile = onnxModel.resolve("unet/model.onnx");
        if (!Files.isRegularFile(unetFile)) throw new InputFileException(onnxModel + ": no unet/model.onnx");
        ContentDigest digest = new ContentDigest(cacheRoot.resolve("digests.json"));
        String key;
        try {
            key = FORMAT + "|rebuilt plain|" + digest.folder(onnxModel.resolve("unet"));
        } finally {
            digest.save();
        }
        Path target = cacheRoot.resolve("converted").resolve("rebuilt-unet-" + ContentDigest.sha256(key).substring(0, 32));
        cached(target, tmp -> {
            long t = System.nanoTime();
            writeUnet(onnxModel, tmp, null);
            progress.note(String.format(Locale.ROOT, "the UNet of %s rebuilt without an adapter (%.1f s, once)",
                    onnxModel, (System.nanoTime() - t) / 1e9));
        });
        return target.resolve("unet");
    }

    /** Writes {@code unet/} into {@code dir}: the converted UNet of {@code onnxModel} built again, with {@code ip} (or none). */
    private static void writeUnet(Path onnxModel, Path dir, IpAdapterWeights ip) throws IOException {
        UnetConfig config = UnetConfig.read(onnxModel.resolve("unet/config.json"));
        try (ConvertedUnetWeights unet = ConvertedUnetWeights.read(onnxModel.resolve("unet/model.onnx"))) {
            OnnxWriter.write(UnetGraph.build(unet, config, false, ip), Files.createDirectories(dir.resolve("unet")), null);
        }
        Files.copy(onnxModel.resolve("unet/config.json"), dir.resolve("unet/config.json"), StandardCopyOption.REPLACE_EXISTING);
    }

    private interface Contents {
        void write(Path dir) throws IOException;
    }

    /** Makes the cache entry {@code target} with {@code contents} unless a sound one is there; a damaged one is made again. */
    private static void cached(Path target, Contents contents) throws IOException {
        if (Files.exists(target) && CacheEntry.damage(target) == null) return;
        if (Files.exists(target)) CacheEntry.discard(target);
        Path tmp = CacheEntry.stage(target);
        try {
            contents.write(tmp);
        } catch (IOException | RuntimeException e) {
            CacheEntry.deleteQuietly(tmp);
            throw e;
        }
        try {
            CacheEntry.commit(tmp, target);
        } catch (IOException e) {
            // another process may have made the same entry meanwhile: its copy is as good
            if (!Files.exists(target) || CacheEntry.damage(target) != null) throw e;
            CacheEntry.deleteQuietly(tmp);
        }
    }

    private static Variant variant(Path dir, int tokens) {
        return new Variant(dir.resolve("unet"), dir.resolve("image_encoder"), tokens);
    }
}
