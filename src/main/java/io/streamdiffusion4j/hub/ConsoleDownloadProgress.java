package io.streamdiffusion4j.hub;

import java.io.PrintStream;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** A download progress bar in megabytes on a console stream (standard error for the CLI). */
public final class ConsoleDownloadProgress implements DownloadProgress, AutoCloseable {
    private final PrintStream out;
    private ProgressBar bar;

    public ConsoleDownloadProgress(PrintStream out) {
        this.out = out;
    }

    @Override
    public void start(String task, long totalBytes) {
        close();
        bar = new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(totalBytes > 0 ? totalBytes : -1)
                .setUnit(" MB", 1_000_000)
                .setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(250)
                .setConsumer(new ConsoleProgressBarConsumer(out))
                .showSpeed()
                .build();
    }

    @Override
    public void advance(long bytesDone) {
        if (bar != null) bar.stepTo(bytesDone);
    }

    @Override
    public void note(String message) {
        out.println(message);
    }

    @Override
    public void finish() {
        close();
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }
}
