package io.streamdiffusion4j.cli;

import io.streamdiffusion4j.config.ConfigException;
import io.streamdiffusion4j.files.InputFileException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;

/**
 * Turns failures into one clear line and an exit code: 2 for bad input (a bad option or
 * configuration value, or a file the user gave that cannot be used), 1 for everything else
 * (the machine: a full disk, a missing library, a failed model call). The only place that
 * decides an exit code from an exception.
 */
final class Errors {
    private Errors() {}

    static String describe(Throwable e) {
        Throwable c = unwrap(e);
        if (c instanceof NoSuchFileException n) return "file not found: " + n.getFile()
                + (n.getReason() != null ? " (" + n.getReason() + ")" : "");
        if (c instanceof AccessDeniedException a) return "permission denied: " + a.getFile();
        String m = c.getMessage();
        return m == null || m.isBlank() ? c.getClass().getSimpleName() : m;
    }

    static int exitCode(Throwable e) {
        Throwable c = unwrap(e);
        boolean badInput = c instanceof ConfigException || c instanceof IllegalArgumentException
                || c instanceof InputFileException;
        return badInput ? 2 : 1;
    }

    /** The failure itself: an I/O error that had to travel as an unchecked one is reported as what it is. */
    private static Throwable unwrap(Throwable e) {
        Throwable c = e;
        while (c instanceof UncheckedIOException u && u.getCause() != null) c = u.getCause();
        return c;
    }
}
