package io.streamdiffusion4j.control;

import java.util.List;

/** The preprocessors by the names users give them ({@code --control-preprocessor}, {@code control_preprocessor}). */
public final class ControlPreprocessors {
    /** The names, in the order help texts list them. */
    public static final List<String> NAMES = List.of(CannyPreprocessor.NAME, "depth", Passthrough.NAME);

    private ControlPreprocessors() {}

    /** Whether {@code name} is one of {@link #NAMES}. */
    public static boolean known(String name) {
        return NAMES.contains(name);
    }

    /**
     * The Java preprocessors by name ({@code canny}, {@code none}); {@code depth} needs a model and is
     * made by {@code onnx.OrtDepthPreprocessor}.
     */
    public static ControlPreprocessor simple(String name) {
        return switch (name) {
            case CannyPreprocessor.NAME -> new CannyPreprocessor();
            case Passthrough.NAME -> new Passthrough();
            default -> throw new IllegalArgumentException("control preprocessor must be one of " + NAMES + ", found '" + name + "'"
                    + ("depth".equals(name) ? " (depth needs a depth model: onnx.OnnxModelLoader.loadDepthModel)" : ""));
        };
    }
}
