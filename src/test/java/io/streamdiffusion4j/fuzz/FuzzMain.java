package io.streamdiffusion4j.fuzz;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Runs targets outside JUnit (long runs from a copied class path, and the comparison with
 * Jazzer): {@code java -cp TEST_CLASSPATH -Dfuzz.seconds=300 io.streamdiffusion4j.fuzz.FuzzMain [NAME ...]},
 * or {@code FuzzMain --write-seeds DIR NAME} to write a target's seeds and regression inputs as
 * files (a corpus folder for another fuzzer). Prints each report's summary and failures; exits 1
 * when any target failed.
 */
public final class FuzzMain {
    private FuzzMain() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 3 && args[0].equals("--write-seeds")) {
            Path dir = Files.createDirectories(Path.of(args[1]));
            FuzzTarget t = FuzzTargets.byName(args[2]);
            List<byte[]> seeds = new java.util.ArrayList<>(t.seeds().get());
            seeds.addAll(FuzzRunner.regressionInputs(t.name()));
            for (int i = 0; i < seeds.size(); i++) Files.write(dir.resolve(String.format("seed-%03d", i)), seeds.get(i));
            System.exit(0);
        }
        FuzzSettings settings = FuzzSettings.fromSystemProperties();
        boolean failed = false;
        for (String name : args.length > 0 ? List.of(args) : FuzzTargets.names()) {
            FuzzTarget target = FuzzTargets.byName(name);
            FuzzReport report = target.forked() ? ForkedFuzz.run(target, settings)
                    : new FuzzRunner(target, settings.out().resolve(name), input -> { }).run(settings.seed(), settings.budget(target));
            System.out.println(report.summary());
            for (FuzzReport.Failure f : report.failures()) {
                System.out.println("  - " + f.kind() + " x" + f.count() + ": " + f.signature() + " (input " + f.saved() + ")");
            }
            failed |= !report.failures().isEmpty();
        }
        System.exit(failed ? 1 : 0);
    }
}
