package io.streamdiffusion4j.convert;

import io.streamdiffusion4j.files.InputFileException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Where an IP-Adapter's two parts lie in a folder: the adapter weights (a {@code *.safetensors}
 * file with the {@code image_proj.*} / {@code ip_adapter.N.*} tensors) and the image encoder
 * ({@code image_encoder/}, a CLIPVisionModelWithProjection). Accepted layouts: this project's
 * ({@code ip-adapter.safetensors} and {@code image_encoder/} side by side) and h94/IP-Adapter's
 * ({@code models/ip-adapter_sd15.safetensors}, {@code models/image_encoder/}).
 */
public record IpAdapterFolder(Path weights, Path imageEncoder) {
    public static final String WEIGHTS = "ip-adapter.safetensors";
    public static final String IMAGE_ENCODER = "image_encoder";

    /** Finds the parts; errors name the folder and what was looked for. */
    public static IpAdapterFolder of(Path dir) throws IOException {
        if (Files.isRegularFile(dir)) {
            IpAdapterWeights.open(dir).close(); // refuses pickles and files of another kind, naming them
            Path encoder = dir.toAbsolutePath().getParent().resolve(IMAGE_ENCODER);
            if (!Files.isDirectory(encoder)) throw new InputFileException(dir + ": no " + IMAGE_ENCODER + "/ folder beside it");
            return new IpAdapterFolder(dir, encoder);
        }
        if (!Files.isDirectory(dir)) throw new InputFileException(dir + ": no such IP-Adapter folder or file");
        for (Path base : List.of(dir, dir.resolve("models"))) {
            if (!Files.isDirectory(base.resolve(IMAGE_ENCODER))) continue;
            Path w = base.resolve(WEIGHTS);
            if (Files.isRegularFile(w)) return new IpAdapterFolder(w, base.resolve(IMAGE_ENCODER));
            List<Path> candidates;
            try (Stream<Path> s = Files.list(base)) {
                candidates = s.filter(p -> p.getFileName().toString().startsWith("ip-adapter")
                        && (p.getFileName().toString().endsWith(".safetensors") || p.getFileName().toString().endsWith(".bin")))
                        .sorted().toList();
            }
            List<Path> safe = candidates.stream().filter(p -> p.toString().endsWith(".safetensors")).toList();
            if (safe.size() == 1) return new IpAdapterFolder(safe.getFirst(), base.resolve(IMAGE_ENCODER));
            if (safe.size() > 1) {
                throw new InputFileException(dir + ": several IP-Adapter weight files " + safe
                        + "; name one with --ip-adapter FILE.safetensors and keep image_encoder/ beside it");
            }
            if (!candidates.isEmpty()) IpAdapterWeights.open(candidates.getFirst()); // refuses the pickle, naming it
        }
        throw new InputFileException(dir + ": not an IP-Adapter folder: expected " + WEIGHTS + " (or ip-adapter*.safetensors)"
                + " and " + IMAGE_ENCODER + "/ in it or in its models/ folder");
    }
}
