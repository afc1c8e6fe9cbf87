package io.streamdiffusion4j.files;

import java.io.IOException;

/**
 * A file the user gave, or one inside a folder the user gave (a model's config, tokenizer or
 * weights, a run configuration, an image), that cannot be used as it is: missing, a folder
 * instead of a file, too large, not text, malformed, or disagreeing with another file. The
 * message names the file and what is wrong. Command lines exit with 2 (bad input) for it, as
 * for a bad option, and with 1 for failures of the machine (a full disk, a missing library).
 */
public class InputFileException extends IOException {
    public InputFileException(String message) {
        super(message);
    }

    public InputFileException(String message, Throwable cause) {
        super(message, cause);
    }
}
