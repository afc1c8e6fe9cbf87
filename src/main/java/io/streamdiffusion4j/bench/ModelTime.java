package io.streamdiffusion4j.bench;

import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.onnx.OrtTextEncoder;
import io.streamdiffusion4j.onnx.OrtUnet;
import io.streamdiffusion4j.onnx.OrtVaeDecoder;
import io.streamdiffusion4j.onnx.OrtVaeEncoder;
import java.util.function.LongSupplier;

/** Total nanoseconds the ONNX Runtime models of a set have spent inside {@code run}. */
final class ModelTime {
    private ModelTime() {}

    static LongSupplier of(StableDiffusionModels m) {
        return () -> {
            long n = 0;
            if (m.textEncoder() instanceof OrtTextEncoder t) n += t.runStats().nanos();
            if (m.unet() instanceof OrtUnet u) n += u.runStats().nanos();
            if (m.vae().encoder() instanceof OrtVaeEncoder e) n += e.runStats().nanos();
            if (m.vae().decoder() instanceof OrtVaeDecoder d) n += d.runStats().nanos();
            return n;
        };
    }
}
