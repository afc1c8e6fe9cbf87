package io.streamdiffusion4j.onnx;

import java.io.IOException;

/** An execution provider that was asked for cannot be used here; the message says what is missing. */
public class ExecutionProviderException extends IOException {
    public ExecutionProviderException(String message) {
        super(message);
    }

    public ExecutionProviderException(String message, Throwable cause) {
        super(message, cause);
    }
}
