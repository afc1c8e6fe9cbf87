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
        int tokens;
        try (IpAdapterWeights ip = IpAdapterWeights.open(adapter.weights())) {
            tokens = ip.tokens();
            if (Files.exists(target) && CacheEntry.damage(target) == null) return variant(target, tokens);
            if (Files.exists(target)) CacheEntry.discard(target);
            Path tmp = CacheEntry.stage(target);
            try {
                long t = System.nanoTime();
                UnetConfig config = UnetConfig.read(onnxModel.resolve("unet/config.json"));
                try (ConvertedUnetWeights unet = ConvertedUnetWeights.read(unetFile)) {
                    OnnxWriter.write(UnetGraph.build(unet, config, false, ip), Files.createDirectories(tmp.resolve("unet")), null);
                }
                Files.copy(onnxModel.resolve("unet/config.json"), tmp.resolve("unet/config.json"), StandardCopyOption.REPLACE_EXISTING);
                ClipVisionConfig vision = ClipVisionConfig.read(adapter.imageEncoder().resolve("config.json"));
                try (SafeTensors w = SafeTensors.open(adapter.imageEncoder().resolve("model.safetensors"))) {
                    OnnxWriter.write(IpAdapterImageGraph.build(w, vision, ip, false), Files.createDirectories(tmp.resolve("image_encoder")), null);
                }
                progress.note(String.format(Locale.ROOT, "IP-Adapter %s built into the UNet of %s (%.1f s, once)",
                        adapter.weights().getFileName(), onnxModel, (System.nanoTime() - t) / 1e9));
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
        return variant(target, tokens);
    }

    private static Variant variant(Path dir, int tokens) {
        return new Variant(dir.resolve("unet"), dir.resolve("image_encoder"), tokens);
    }
}
