package io.streamdiffusion4j.config;

/** A run configuration that cannot be used; the message names the key and what was wrong. */
public class ConfigException extends Exception {
    public ConfigException(String message) {
        super(message);
    }
}
