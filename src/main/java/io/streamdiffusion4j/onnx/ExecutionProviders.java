package io.streamdiffusion4j.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.providers.OrtCUDAProviderOptions;
import ai.onnxruntime.providers.OrtTensorRTProviderOptions;
import java.util.EnumSet;
import java.util.Locale;

/**
 * Picks the execution provider for a {@link Device} and adds it to session options.
 *
 * <p>A provider that is asked for by name and cannot be used is an error that says what is
 * missing: not in this ONNX Runtime build (the CPU jar has only the CPU provider), or in the
 * build but its libraries do not load (CUDA 12, cuDNN 9, TensorRT 10). Only {@link Device#AUTO}
 * moves on to the next candidate, and it says why in {@link Selection#notice}.
 */
public final class ExecutionProviders {

    /** The provider to use and, when {@code auto} passed over a candidate, why (else null). */
    public record Selection(ExecutionProvider provider, String notice) {}

    /** Adds a provider to throwaway session options, which loads its libraries: the real test of whether it works. */
    @FunctionalInterface
    interface Probe {
        void tryLoad(ExecutionProvider provider) throws OrtException;
    }

    private ExecutionProviders() {}

    /** Selects against the loaded ONNX Runtime build and this machine. */
    public static Selection select(Device device, ProviderSettings settings) throws ExecutionProviderException {
        return select(device, settings, OrtEnvironment.getAvailableProviders(), System.getProperty("os.name", ""),
                ExecutionProviders::probe);
    }

    static Selection select(Device device, ProviderSettings settings, EnumSet<OrtProvider> available, String osName,
                            Probe probe) throws ExecutionProviderException {
        boolean mac = osName.toLowerCase(Locale.ROOT).startsWith("mac");
        return switch (device) {
            case CPU -> new Selection(new ExecutionProvider.Cpu(), null);
            case CUDA -> new Selection(checked(ExecutionProvider.Cuda.of(settings), available, mac, probe), null);
            case TENSORRT -> new Selection(checked(ExecutionProvider.TensorRt.of(settings), available, mac, probe), null);
            case COREML -> new Selection(checked(ExecutionProvider.CoreMl.of(settings), available, mac, probe), null);
            case AUTO -> {
                // TensorRT is never picked automatically: its first run builds engines for minutes.
                ExecutionProvider candidate = mac ? ExecutionProvider.CoreMl.of(settings) : ExecutionProvider.Cuda.of(settings);
                try {
                    yield new Selection(checked(candidate, available, mac, probe), null);
                } catch (ExecutionProviderException e) {
                    yield new Selection(new ExecutionProvider.Cpu(), "device auto: " + e.getMessage() + "; running on the CPU");
                }
            }
        };
    }

    private static ExecutionProvider checked(ExecutionProvider p, EnumSet<OrtProvider> available, boolean mac, Probe probe)
            throws ExecutionProviderException {
        if (!available.contains(p.ortProvider())) {
            String how = switch (p) {
                case ExecutionProvider.CoreMl c -> mac ? "use ONNX Runtime's macOS build" : "CoreML runs only on macOS";
                case ExecutionProvider.Cpu c -> "";
                default -> "build with the GPU profile (./build -- -Pcuda -DskipTests package, ONNX Runtime's"
                        + " onnxruntime_gpu artifact)";
            };
            throw new ExecutionProviderException(p.key() + " was asked for, but this ONNX Runtime build has no "
                    + p.ortProvider().getName() + " (it has " + available + "): " + how);
        }
        try {
            probe.tryLoad(p);
        } catch (OrtException | RuntimeException e) {
            throw unusable(p, e);
        }
        return p;
    }

    static ExecutionProviderException unusable(ExecutionProvider p, Exception cause) {
        return new ExecutionProviderException(p.key() + " was asked for but cannot be loaded; it needs " + p.requirements()
                + ". ONNX Runtime said: " + cause.getMessage(), cause);
    }

    private static void probe(ExecutionProvider p) throws OrtException {
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
            add(so, p, "probe", SessionShapes.dynamic(new GraphInputs(java.util.Map.of())));
        }
    }

    /**
     * Adds {@code provider} to {@code options} for the session of {@code modelKey} with
     * {@code shapes} (TensorRT's profile and engine cache, CoreML's model cache).
     */
    static void apply(OrtSession.SessionOptions options, ExecutionProvider provider, String modelKey, SessionShapes shapes)
            throws ExecutionProviderException {
        try {
            add(options, provider, modelKey, shapes);
        } catch (OrtException | RuntimeException e) {
            throw unusable(provider, e);
        }
    }

    private static void add(OrtSession.SessionOptions so, ExecutionProvider p, String modelKey, SessionShapes shapes)
            throws OrtException {
        switch (p) {
            case ExecutionProvider.Cpu c -> {
                // the CPU provider is always there, behind every other one
            }
            case ExecutionProvider.Cuda c -> addCuda(so, c);
            case ExecutionProvider.TensorRt t -> {
                try (OrtTensorRTProviderOptions o = new OrtTensorRTProviderOptions(t.deviceId())) {
                    for (var e : t.options(modelKey, shapes).entrySet()) o.add(e.getKey(), e.getValue());
                    so.addTensorrt(o);
                }
                // Operators TensorRT does not take go to CUDA, not to the CPU.
                addCuda(so, t.cuda());
            }
            case ExecutionProvider.CoreMl c -> so.addCoreML(c.options(modelKey, shapes));
        }
    }

    private static void addCuda(OrtSession.SessionOptions so, ExecutionProvider.Cuda c) throws OrtException {
        try (OrtCUDAProviderOptions o = new OrtCUDAProviderOptions(c.deviceId())) {
            for (var e : c.options().entrySet()) o.add(e.getKey(), e.getValue());
            so.addCUDA(o);
        }
    }
}
