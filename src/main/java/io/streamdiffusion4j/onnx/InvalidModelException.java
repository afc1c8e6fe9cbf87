package io.streamdiffusion4j.onnx;

import java.io.IOException;

/** A model file or folder that cannot be used: missing, unreadable, or with the wrong inputs and outputs. */
public class InvalidModelException extends IOException {
    public InvalidModelException(String message) {
        super(message);
    }

    public InvalidModelException(String message, Throwable cause) {
        super(message, cause);
    }
}
