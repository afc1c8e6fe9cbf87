package io.streamdiffusion4j.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;

/**
 * The process's one ONNX Runtime environment and its shared thread pools.
 *
 * <p>ONNX Runtime allows a single environment per process, and its global thread pools can only
 * be set when that environment is created. Without them every session (text encoder, UNet, VAE
 * encoder and decoder) starts its own pool of one thread per core, so a 2-core machine runs 8
 * spinning threads that compete with each other. So the first load creates the environment
 * with one intra-op pool of the requested size, and every session with the same
 * {@link ThreadSettings} runs on it.
 *
 * <p>A session asking for other settings later (another thread count in the same process) gets
 * its own pool of exactly that size: the pools cannot be resized, and running with a different
 * count than asked would be wrong. The same happens when something else created the environment
 * before streamdiffusion4j did (then there are no global pools to share); {@link #describe}
 * says which case applies.
 */
public final class OrtRuntime {
    private static final long CREATION_STACK_BYTES = 16L << 20;
    private static OrtEnvironment environment;
    /** Settings of the global pools, or null when the environment was made without them. */
    private static ThreadSettings sharedPools;

    private OrtRuntime() {}

    /** The environment, created with global pools of {@code settings} when this is the first use. */
    public static synchronized OrtEnvironment environment(ThreadSettings settings) {
        if (environment != null) return environment;
        // ONNX Runtime's native creation of the environment can need more than the 1 MB of stack a
        // JVM thread has by default: in a JVM started with a long command line (a test JVM with the
        // whole test class path after -cp) it overflowed and the JVM died with SIGSEGV, no hs_err.
        // So it runs on a thread of its own with room to spare, whatever thread asks first.
        Throwable[] failure = new Throwable[1];
        Thread creator = Thread.ofPlatform().name("sd4j-ort-environment").stackSize(CREATION_STACK_BYTES).unstarted(() -> {
            try {
                create(settings);
            } catch (Throwable e) {
                failure[0] = e;
            }
        });
        creator.start();
        boolean interrupted = false;
        while (true) {
            try {
                creator.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // the environment must exist (or have failed) before this returns
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        if (failure[0] instanceof RuntimeException e) throw e;
        if (failure[0] instanceof Error e) throw e;
        return environment;
    }

    private static void create(ThreadSettings settings) {
        try (OrtEnvironment.ThreadingOptions threading = new OrtEnvironment.ThreadingOptions()) {
            threading.setGlobalIntraOpNumThreads(settings.intraOpThreads());
            // The pipeline runs its models one after another: no operator-level parallel branches.
            threading.setGlobalInterOpNumThreads(1);
            threading.setGlobalSpinControl(settings.spinning());
            environment = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING, "streamdiffusion4j", threading);
            sharedPools = settings;
        } catch (OrtException e) {
            throw new IllegalStateException("cannot set up ONNX Runtime's thread pools (" + settings + "): " + e.getMessage(), e);
        } catch (IllegalStateException alreadyCreated) {
            if (alreadyCreated.getCause() != null) throw alreadyCreated;
            // Created elsewhere in this process (another library, a test) without global pools.
            environment = OrtEnvironment.getEnvironment();
            sharedPools = null;
        }
    }

    /** True when sessions with {@code settings} run on the environment's shared pools. */
    public static synchronized boolean sharesPools(ThreadSettings settings) {
        return settings.equals(sharedPools);
    }

    /** Makes a session run on the shared pools, or on its own pool with exactly {@code settings}. */
    static void applyThreading(OrtSession.SessionOptions options, ThreadSettings settings) throws OrtException {
        environment(settings);
        if (sharesPools(settings)) {
            options.disablePerSessionThreads();
        } else {
            options.setIntraOpNumThreads(settings.intraOpThreads());
            options.setInterOpNumThreads(1);
            options.addConfigEntry("session.intra_op.allow_spinning", settings.spinning() ? "1" : "0");
        }
    }

    /** One line on how sessions with {@code settings} are threaded, for logs and benchmark reports. */
    public static synchronized String describe(ThreadSettings settings) {
        if (sharesPools(settings)) return "shared pool: " + settings;
        if (sharedPools != null) return "own pool per session: " + settings + " (the shared pool has " + sharedPools + ")";
        return "own pool per session: " + settings + " (the ONNX Runtime environment was created without shared pools)";
    }

    /** The ONNX Runtime version of the loaded native library. */
    public static String version() {
        return environment(ThreadSettings.defaults()).getVersion();
    }
}
