package io.streamdiffusion4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code streamdiffusion4j} command line. */
@Command(name = "streamdiffusion4j",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Real-time image generation with StreamDiffusion on ONNX Runtime.",
        subcommands = {Img2ImgCommand.class, Txt2ImgCommand.class, RunCommand.class, ServeCommand.class, ConvertCommand.class,
                ModelsCommand.class, BenchCommand.class, WebBenchCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        StopSignals.haltOnSignalByDefault();
        System.exit(run(args));
    }

    /** Runs a command line and returns its exit code (0 only on success). */
    public static int run(String... args) {
        return run(new java.io.PrintWriter(System.out, true), new java.io.PrintWriter(System.err, true), args);
    }

    /** Runs a command line with the given output streams (for embedding and tests). */
    public static int run(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setCaseInsensitiveEnumValuesAllowed(true);
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("error: " + Errors.describe(e));
            if (System.getenv("STREAMDIFFUSION4J_DEBUG") != null) e.printStackTrace(cmd.getErr());
            return Errors.exitCode(e);
        });
        return cli.execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"streamdiffusion4j " + (v == null ? "(development build)" : v)};
        }
    }
}
