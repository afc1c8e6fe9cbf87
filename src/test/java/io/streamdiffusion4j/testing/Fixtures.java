package io.streamdiffusion4j.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The shared reference fixtures (small random-weight models, frames, one reference run of the
 * Python original), read in place from {@code ../shared/fixtures} or the {@code fixtures.dir}
 * system property. Tests that need them fail with a clear message when they are absent.
 */
public final class Fixtures {
    private Fixtures() {}

    public static Path dir() {
        String prop = System.getProperty("fixtures.dir");
        Path p = prop != null ? Path.of(prop) : Path.of("..", "shared", "fixtures");
        if (!Files.isDirectory(p)) {
            throw new IllegalStateException("the shared fixtures are not at " + p.toAbsolutePath()
                    + " (set -Dfixtures.dir=... to where ../shared/fixtures is)");
        }
        return p.normalize();
    }

    public static Path onnxModel() {
        return dir().resolve("models/tiny-sd-turbo-onnx");
    }

    public static Path taesd() {
        return dir().resolve("models/taesd-onnx");
    }

    public static Path frames() {
        return dir().resolve("frames/frames64");
    }

    public static Path publicRun() {
        return dir().resolve("runs/public_img2img_self");
    }

    public static Path tensor(String name) {
        return publicRun().resolve("tensors").resolve(name + ".npy");
    }
}
