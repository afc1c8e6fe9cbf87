package io.streamdiffusion4j.random;

import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.files.InputFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Uniform draws recorded elsewhere (for example by the Python original), replayed in order.
 * Running out of draws is an error: silently inventing more would change the run.
 */
public final class ReplayedUniforms implements UniformSource {
    private final double[] draws;
    private final String origin;
    private int next;

    public ReplayedUniforms(double[] draws, String origin) {
        this.draws = draws.clone();
        this.origin = origin;
    }

    /** Reads one number per line; blank lines and lines starting with '#' are ignored. */
    public static ReplayedUniforms fromFile(Path file) throws IOException {
        List<String> lines = InputFiles.text(file, "file of similarity-filter draws").lines().toList();
        List<Double> values = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) continue;
            double v;
            try {
                v = Double.parseDouble(line);
            } catch (NumberFormatException e) {
                throw new InputFileException(
                        file + " line " + (i + 1) + ": expected a number in [0, 1], found '" + line + "'");
            }
            if (!(v >= 0 && v <= 1)) {
                throw new InputFileException(
                        file + " line " + (i + 1) + ": expected a number in [0, 1], found " + line);
            }
            values.add(v);
        }
        double[] d = new double[values.size()];
        for (int i = 0; i < d.length; i++) d[i] = values.get(i);
        return new ReplayedUniforms(d, file.toString());
    }

    @Override
    public double nextUniform() {
        if (next >= draws.length) {
            throw new IllegalStateException("the recorded similarity-filter draws in " + origin
                    + " ran out after " + draws.length + " draws");
        }
        return draws[next++];
    }

    public int used() {
        return next;
    }
}
