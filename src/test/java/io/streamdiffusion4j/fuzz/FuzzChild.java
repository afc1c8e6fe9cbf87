package io.streamdiffusion4j.fuzz;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The child JVM of a forked target: runs it and prints the report as one line. Before each
 * input it writes the input to {@code current-input.bin}, so when native code takes this JVM
 * down the parent can name (and keep) the input that did it.
 */
public final class FuzzChild {
    static final String REPORT_PREFIX = "FUZZ-REPORT ";
    static final String CURRENT_INPUT = "current-input.bin";

    private FuzzChild() {}

    public static void main(String[] args) throws IOException {
        FuzzSettings settings = FuzzSettings.fromSystemProperties();
        FuzzTarget target = FuzzTargets.byName(args[0]);
        Path dir = settings.out().resolve(target.name());
        Files.createDirectories(dir);
        try (FileChannel current = FileChannel.open(dir.resolve(CURRENT_INPUT), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            FuzzReport report = new FuzzRunner(target, dir, input -> record(current, input))
                    .run(settings.seed(), settings.budget(target));
            System.out.println(REPORT_PREFIX + new ObjectMapper().writeValueAsString(report));
        }
        System.exit(0); // abandoned hung workers must not keep the child alive
    }

    private static void record(FileChannel current, byte[] input) {
        try {
            current.truncate(0);
            current.write(ByteBuffer.wrap(input), 0);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
