package io.streamdiffusion4j.convert;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.streamdiffusion4j.onnx.ActivationRanges;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * A TAESD (ONNX {@code vae_encoder/} and {@code vae_decoder/}) in static int8
 * ({@link StaticInt8Quantizer}), calibrated on {@link CalibrationImages}: the encoder on the
 * pictures, the decoder on the encoder's latents of them.
 */
public final class TaesdQuantizer {
    /** Calibration: this many pictures at this size (ranges barely depend on size; 256 keeps it quick). */
    static final int IMAGES = 8;
    static final int SIZE = 256;
    static final long SEED = 20261202L;
    public static final String ENCODER = "vae_encoder";
    public static final String DECODER = "vae_decoder";

    /** What was quantized, for the conversion log. */
    public record Report(String encoder, String decoder) {
        public String describe() {
            return "TAESD int8 (static, calibrated on " + IMAGES + " synthetic pictures): encoder " + encoder + "; decoder " + decoder;
        }
    }

    private TaesdQuantizer() {}

    /**
     * Writes an int8 copy of the TAESD ONNX folder {@code from} into {@code to} (a new, empty
     * folder): encoder and decoder quantized, every other file linked or copied.
     */
    public static Report quantizedCopy(Path from, Path to) throws IOException {
        Path encoder = from.resolve(ENCODER), decoder = from.resolve(DECODER);
        Int8Quantizer.linkCopy(from, to, p -> (p.getParent().equals(encoder) || p.getParent().equals(decoder))
                && p.getFileName().toString().startsWith("model.onnx"));
        Report r = quantize(from, to);
        var about = new ObjectMapper().createObjectNode()
                .put("quantize", "int8").put("format", StaticInt8Quantizer.FORMAT).put("calibration", calibration())
                .put("source", from.toAbsolutePath().toString()).put("encoder", r.encoder()).put("decoder", r.decoder());
        Files.writeString(to.resolve("quantization.json"), about.toPrettyString());
        return r;
    }

    /** Quantizes the TAESD ONNX folder {@code dir} in place (a folder being built, not yet sealed). */
    public static Report quantizeInPlace(Path dir) throws IOException {
        Path staged = Files.createTempDirectory(dir, ".taesd-int8-");
        try {
            Report r = quantize(dir, staged);
            for (String part : List.of(ENCODER, DECODER)) {
                Files.deleteIfExists(dir.resolve(part).resolve("model.onnx_data"));
                try (var files = Files.list(staged.resolve(part))) {
                    for (Path f : files.toList()) {
                        Files.move(f, dir.resolve(part).resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
                    }
                }
            }
            return r;
        } finally {
            DiffusersConverter.deleteTree(staged);
        }
    }

    /** What the calibration inputs are: part of the cache key of int8 copies, so new inputs make new copies. */
    public static String calibration() {
        return "synthetic-" + CalibrationImages.VERSION + "-" + IMAGES + "x" + SIZE + "-seed" + SEED;
    }

    /** Writes the int8 encoder and decoder into {@code to/vae_encoder} and {@code to/vae_decoder}; other files are the caller's. */
    public static Report quantize(Path from, Path to) throws IOException {
        Path encoder = from.resolve(ENCODER).resolve("model.onnx"), decoder = from.resolve(DECODER).resolve("model.onnx");
        StaticInt8Quantizer.Plan encoderPlan = StaticInt8Quantizer.plan(Int8Quantizer.read(encoder));
        StaticInt8Quantizer.Plan decoderPlan = StaticInt8Quantizer.plan(Int8Quantizer.read(decoder));
        List<float[]> images = CalibrationImages.generate(IMAGES, SIZE, SIZE, SEED);
        ActivationRanges.Measured enc = ActivationRanges.measure(encoder, encoderPlan.tensors(), images, new long[] {1, 3, SIZE, SIZE});
        ActivationRanges.Measured dec = ActivationRanges.measure(decoder, decoderPlan.tensors(), enc.outputs(), enc.outputShape());
        Int8Quantizer.Policy convsOnly = new Int8Quantizer.Policy(Int8Quantizer.Policy.NEVER, Int8Quantizer.Policy.NEVER);
        Int8Quantizer.quantizeFile(encoder, to.resolve(ENCODER), convsOnly, new Int8Quantizer.StaticConvs(encoderPlan, enc.ranges()));
        Int8Quantizer.quantizeFile(decoder, to.resolve(DECODER), convsOnly, new Int8Quantizer.StaticConvs(decoderPlan, dec.ranges()));
        return new Report(encoderPlan.describe(), decoderPlan.describe());
    }

}
