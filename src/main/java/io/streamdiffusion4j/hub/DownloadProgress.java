package io.streamdiffusion4j.hub;

/** Progress of a download, in bytes: the total first, then how many have arrived (including resumed bytes). */
public interface DownloadProgress {

    /** @param totalBytes the bytes to transfer, or -1 when unknown */
    void start(String task, long totalBytes);

    void advance(long bytesDone);

    /** A line worth telling the user (for example that a partial download is resumed). */
    default void note(String message) {}

    /** The transfer is over (successfully or not). */
    default void finish() {}

    DownloadProgress NONE = new DownloadProgress() {
        @Override
        public void start(String task, long totalBytes) {}

        @Override
        public void advance(long bytesDone) {}
    };
}
