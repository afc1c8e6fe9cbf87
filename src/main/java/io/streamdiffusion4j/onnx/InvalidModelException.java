package io.streamdiffusion4j.onnx;

import io.streamdiffusion4j.files.InputFileException;

/** A model file or folder that cannot be used: missing, unreadable, or with the wrong inputs and outputs. */
public class InvalidModelException extends InputFileException {
    public InvalidModelException(String message) {
        super(message);
    }

    public InvalidModelException(String message, Throwable cause) {
        super(message, cause);
    }
}
