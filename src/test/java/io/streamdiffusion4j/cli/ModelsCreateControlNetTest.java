package io.streamdiffusion4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.convert.ControlNetConfig;
import io.streamdiffusion4j.convert.ControlNetPreset;
import io.streamdiffusion4j.convert.ModelPreset;
import io.streamdiffusion4j.convert.RandomModels;
import io.streamdiffusion4j.convert.UnetConfig;
import io.streamdiffusion4j.weights.SafeTensors;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code models create --config tiny-controlnet}: a ControlNetModel folder for the built-in tiny model, zero convs not zero. */
class ModelsCreateControlNetTest {

    @Test
    void createsATinyControlNetWithNonZeroZeroConvs(@TempDir Path dir) throws Exception {
        CliTest.Result r = CliTest.run("models", "create", "--config", "tiny-controlnet", "--seed", "2", "--to",
                dir.resolve("cn").toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.err()).contains("created tiny-controlnet").contains("for tiny");
        ControlNetConfig c = ControlNetConfig.read(dir.resolve("cn/config.json"));
        UnetConfig tiny = UnetConfig.parse(ModelPreset.TINY.architecture().unet(), Path.of("unet/config.json"));
        assertThat(c.unet().blockOutChannels()).isEqualTo(tiny.blockOutChannels());
        assertThat(c.unet().crossAttentionDim()).isEqualTo(tiny.crossAttentionDim());
        long values = 0;
        try (SafeTensors w = SafeTensors.open(dir.resolve("cn/diffusion_pytorch_model.safetensors"))) {
            for (String name : w.names()) {
                values += w.floats(name).length;
                if (name.startsWith("controlnet_down_blocks.") || name.startsWith("controlnet_mid_block.")
                        || name.startsWith("controlnet_cond_embedding.conv_out.")) {
                    float max = 0;
                    for (float v : w.floats(name)) max = Math.max(max, Math.abs(v));
                    assertThat(max).as(name).isGreaterThan(0f);
                }
            }
        }
        assertThat(values).isEqualTo(RandomModels.parameterCount(ControlNetPreset.TINY));
        // the same seed gives the same file
        CliTest.Result again = CliTest.run("models", "create", "--config", "tiny-controlnet", "--seed", "2", "--to",
                dir.resolve("again").toString());
        assertThat(again.exitCode()).as(again.err()).isZero();
        assertThat(Files.mismatch(dir.resolve("cn/diffusion_pytorch_model.safetensors"),
                dir.resolve("again/diffusion_pytorch_model.safetensors"))).isEqualTo(-1L);

        CliTest.Result convert = CliTest.run("convert", "--from", dir.resolve("cn").toString(), "--to", dir.resolve("onnx").toString());
        assertThat(convert.exitCode()).as(convert.err()).isZero();
        assertThat(dir.resolve("onnx/model.onnx")).exists();
        assertThat(dir.resolve("onnx/config.json")).hasSameBinaryContentAs(dir.resolve("cn/config.json"));

        CliTest.Result bad = CliTest.run("models", "create", "--config", "sd99-controlnet", "--to", dir.resolve("x").toString());
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.err()).contains("unknown model configuration 'sd99-controlnet'").contains("tiny-controlnet");
    }
}
