package io.streamdiffusion4j.cli;

import io.streamdiffusion4j.convert.DiffusersConverter;
import java.io.PrintStream;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** Progress bars on standard error for long jobs (conversion, model creation), counted in weights. */
final class Progress implements DiffusersConverter.Progress, AutoCloseable {
    private final String task;
    private final PrintStream out;
    private ProgressBar bar;

    Progress(String task, PrintStream out) {
        this.task = task;
        this.out = out;
    }

    @Override
    public void start(long totalValues) {
        if (bar != null) bar.close();
        bar = new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(Math.max(1, totalValues))
                .setUnit(totalValues >= 10_000_000 ? " M weights" : " k weights", totalValues >= 10_000_000 ? 1_000_000 : 1_000)
                .setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(250)
                .setConsumer(new ConsoleProgressBarConsumer(out))
                .showSpeed()
                .build();
    }

    @Override
    public void advance(long valuesDone) {
        if (bar != null) bar.stepTo(valuesDone);
    }

    @Override
    public void note(String message) {
        out.println(message);
    }

    @Override
    public void close() {
        if (bar != null) bar.close();
    }
}
