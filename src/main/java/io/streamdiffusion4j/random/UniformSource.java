package io.streamdiffusion4j.random;

/** A source of uniform draws in [0, 1): seeded ({@link PythonRandom}) or replayed from a list. */
@FunctionalInterface
public interface UniformSource {
    double nextUniform();
}
