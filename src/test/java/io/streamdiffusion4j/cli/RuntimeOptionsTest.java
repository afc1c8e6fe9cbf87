package io.streamdiffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.config.RunConfig;
import io.streamdiffusion4j.onnx.OnnxModelLoader;
import io.streamdiffusion4j.onnx.ThreadSettings;
import io.streamdiffusion4j.pipeline.Mode;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code --threads} and {@code --spin} become the loader's {@link ThreadSettings} (which
 * {@code ThreadSettingsReachOrtTest} follows into ONNX Runtime's sessions).
 */
class RuntimeOptionsTest {
    private static OnnxModelLoader.Options parse(String... extra) throws Exception {
        Img2ImgCommand command = new Img2ImgCommand();
        String[] base = {"--model", "tiny", "--input", "in", "--output", "out"};
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        new CommandLine(command).parseArgs(args);
        RunConfig rc = command.options.resolve(Mode.IMG2IMG.key());
        return Cli.loaderOptions(rc, command.options);
    }

    @Test
    void threadsAndSpinReachTheLoaderOptions() throws Exception {
        assertThat(parse("--threads", "3", "--spin", "false").threads()).isEqualTo(new ThreadSettings(3, false));
        assertThat(parse("--threads", "1").threads()).isEqualTo(new ThreadSettings(1, true));
        assertThat(parse().threads()).isEqualTo(ThreadSettings.defaults());
    }

    @Test
    void zeroThreadsIsBadInput() {
        CliTestRun r = CliTestRun.of("img2img", "--model", "tiny", "--input", "in", "--output", "out", "--threads", "0");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("--threads must be at least 1, found 0");
    }

    record CliTestRun(int exitCode, String err) {
        static CliTestRun of(String... args) {
            java.io.StringWriter err = new java.io.StringWriter();
            int code = Main.run(new java.io.PrintWriter(new java.io.StringWriter(), true), new java.io.PrintWriter(err, true), args);
            return new CliTestRun(code, err.toString());
        }
    }
}
