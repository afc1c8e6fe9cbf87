package io.streamdiffusion4j.web;

/** A session's pipeline as its socket handles it: closed when the session ends, finished first when the server drains. */
interface SessionPipeline extends AutoCloseable {

    /**
     * Finishes the frames already in the pipeline, handing their images on, then closes; takes
     * no new frames meanwhile. By default the same as {@link #close()}.
     */
    default void finishAndClose() throws Exception {
        close();
    }
}
