package io.streamdiffusion4j.cli;

import io.streamdiffusion4j.config.ConfigException;
import io.streamdiffusion4j.image.BadImageException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;

/** Turns failures into one clear line and an exit code: 2 for bad input, 1 for everything else. */
final class Errors {
    private Errors() {}

    static String describe(Throwable e) {
        if (e instanceof NoSuchFileException n) return "file not found: " + n.getFile()
                + (n.getReason() != null ? " (" + n.getReason() + ")" : "");
        if (e instanceof AccessDeniedException a) return "permission denied: " + a.getFile();
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }

    static int exitCode(Throwable e) {
        return e instanceof ConfigException || e instanceof IllegalArgumentException || e instanceof BadImageException ? 2 : 1;
    }
}
