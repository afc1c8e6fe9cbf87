package io.streamdiffusion4j.testing;

import io.streamdiffusion4j.config.ConfigException;
import io.streamdiffusion4j.config.RunConfig;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.tensor.Npy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * One recorded run of the Python original under {@code fixtures/runs}: its settings, every
 * intermediate tensor ({@code tensors/NAME.npy}) and its output frames ({@code frames/NNN.npy}).
 */
public record ReferenceRun(String name, Path dir) {

    /**
     * The public runs, one per guidance path: RCFG self (delta 1), full CFG (delta 0.6 and a
     * negative prompt, which full CFG ignores for delta), RCFG self with delta 0.5 over three
     * steps, and RCFG initialize (delta 0.9, a negative prompt).
     */
    public static final List<String> PUBLIC = List.of(
            "public_img2img_self", "public_img2img_full_delta", "public_img2img_self_delta", "public_img2img_initialize");

    public static ReferenceRun named(String name) {
        Path dir = Fixtures.dir().resolve("runs").resolve(name);
        if (!Files.isDirectory(dir)) throw new IllegalStateException("no reference run at " + dir.toAbsolutePath());
        return new ReferenceRun(name, dir);
    }

    public Path configFile() {
        return dir.resolve("config.json");
    }

    public RunConfig config() throws IOException, ConfigException {
        return RunConfig.fromJson(RunConfig.readJson(configFile()), configFile().toString());
    }

    public Path tensorFile(String tensor) {
        return dir.resolve("tensors").resolve(tensor + ".npy");
    }

    public FloatTensor tensor(String tensor) throws IOException {
        return Npy.readFloats(tensorFile(tensor));
    }

    public long[] ids(String tensor) throws IOException {
        return Npy.readLongs(tensorFile(tensor));
    }

    /** Output frame {@code index} of the original: float32 HWC RGB in [0, 1]. */
    public FloatTensor outputFrame(int index) throws IOException {
        return Npy.readFloats(dir.resolve(String.format("frames/%03d.npy", index)));
    }

    @Override
    public String toString() {
        return name;
    }
}
