package io.streamdiffusion4j.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.testing.StandInControlNet;
import io.streamdiffusion4j.testing.StandInModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The {@code controlnet INDEX SCALE} live command: applied to the stream's ControlNet, bad ones refused at parse time. */
class ControlCommandControlNetTest {

    @Test
    void setsOneControlNetsScale() throws Exception {
        StandInModels sm = StandInModels.create();
        sm.unet.acceptsResiduals = true;
        try (StreamDiffusion s = StreamDiffusion.builder().models(sm.models(false, 0.5f)).size(32, 32)
                .controlNet(new StandInControlNet(1f), 0.8).controlNet(new StandInControlNet(2f), 0.5).build()) {
            s.prepare("a fox", "", 50, 1.2, 1.0);
            ControlCommand c = ControlCommand.parse("controlnet 1 0", 50, 2);
            assertThat(c.kind()).isEqualTo(ControlCommand.Kind.CHANGE);
            assertThat(c.description()).isEqualTo("controlnet 1 scale 0.0");
            c.change().accept(s);
            assertThat(s.controlNetScales()).containsExactly(0.8, 0.0);
            ControlCommand.parse("controlnet_scale 0, 1.25", 50, 2).change().accept(s);
            assertThat(s.controlNetScales()).containsExactly(1.25, 0.0);
        }
        assertThat(ControlCommand.HELP).contains("controlnet INDEX SCALE");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "controlnet 2 0.5|2|controlnet index must be a whole number in [0, 1], found 2",
            "controlnet 0.5 1|2|controlnet index must be a whole number in [0, 1], found 0.5",
            "controlnet -1 1|2|controlnet index must be a whole number in [0, 1], found -1",
            "controlnet 0 2.5|2|controlnet scale must be in [0, 2], found 2.5",
            "controlnet 0 NaN|2|controlnet expects finite numbers",
            "controlnet 0|2|controlnet expects 2 number(s), found '0'",
            "controlnet 0 x|2|controlnet expects numbers, found 'x'",
            "controlnet 0 1|0|this stream has no ControlNet"})
    void badCommandsAreRefusedWithTheReason(String line, int nets, String message) {
        assertThatThrownBy(() -> ControlCommand.parse(line, 50, nets)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(message);
    }
}
