package io.streamdiffusion4j.image;

import io.streamdiffusion4j.files.InputFileException;

/**
 * Image bytes that cannot be a valid image of a supported format: damaged, truncated, of an
 * unsupported format, or declaring a size beyond a limit. This is bad input (the command line
 * exits 2, the web server answers the frame with an error), not a failure of the machine.
 */
public class BadImageException extends InputFileException {
    private static final long serialVersionUID = 1L;

    public BadImageException(String message) {
        super(message);
    }

    public BadImageException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The same problem, its message prefixed with where the bytes came from (a file name). */
    public BadImageException from(String source) {
        return new BadImageException(source + ": " + getMessage(), this);
    }
}
