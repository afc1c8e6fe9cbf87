package io.streamdiffusion4j.convert;

import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.weights.SafeTensors.Spec;
import io.streamdiffusion4j.weights.WeightSource;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Checks a component's weights against the shapes its config.json implies ({@link WeightSpecs}),
 * before anything is converted. Without it a tensor of the wrong shape (a config from another
 * model size, a damaged file) would be built into a graph that only fails when it first runs,
 * after it has been cached.
 */
final class WeightShapes {
    private WeightShapes() {}

    /**
     * @param config the config.json the expected shapes come from, named in the error
     * @throws InputFileException naming the weights file, the tensor, the expected and the found shape
     */
    static void require(WeightSource weights, List<Spec> expected, Path config) throws IOException {
        for (Spec s : expected) {
            // A missing tensor is reported by the graph builder, which knows the alternatives
            // (older attention names, optional biases); only present tensors are compared here.
            if (!weights.has(s.name())) continue;
            int[] found = weights.shape(s.name());
            if (!Arrays.equals(found, s.shape())) {
                throw new InputFileException(weights.origin() + ": tensor '" + s.name() + "' has shape "
                        + Arrays.toString(found) + ", but " + config + " implies " + Arrays.toString(s.shape()));
            }
        }
    }
}
