package io.streamdiffusion4j.engine;

import io.streamdiffusion4j.image.RgbImage;

/** An input frame: its position in the source, when it was captured (System.nanoTime), its pixels. */
public record Frame(long index, long capturedNanos, RgbImage image) {}
