package io.streamdiffusion4j.cli;

import io.streamdiffusion4j.image.ImageFiles;
import io.streamdiffusion4j.image.ImagePostprocessor;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.tensor.Npy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes generated frames as NNN.png (and NNN.npy: float32 HWC RGB in [0, 1]) into a folder. */
final class FrameWriter {
    private final Path dir;
    private final boolean saveNpy;
    private int next;

    FrameWriter(Path dir, boolean saveNpy) throws IOException {
        if (Files.exists(dir) && !Files.isDirectory(dir)) throw new IOException("output path is not a folder: " + dir);
        Files.createDirectories(dir);
        this.dir = dir;
        this.saveNpy = saveNpy;
    }

    /** Writes every image of a decoded batch (rows, 3, H, W) in [-1, 1]; returns how many. */
    int writeAll(FloatTensor decoded) throws IOException {
        for (int i = 0; i < decoded.rows(); i++) write(decoded, i);
        return decoded.rows();
    }

    void write(FloatTensor decoded, int row) throws IOException {
        int h = decoded.dim(2);
        int w = decoded.dim(3);
        float[] unit = ImagePostprocessor.toUnitHwc(decoded, row);
        String name = String.format("%03d", next++);
        ImageFiles.writePng(ImagePostprocessor.toRgb(unit, w, h), dir.resolve(name + ".png"));
        if (saveNpy) Npy.writeFloats(dir.resolve(name + ".npy"), unit, h, w, 3);
    }

    int written() {
        return next;
    }
}
