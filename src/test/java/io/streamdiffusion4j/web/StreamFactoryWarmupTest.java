package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.pipeline.Warmup;
import io.streamdiffusion4j.testing.Recording;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The server warms its shared models at start, and a session's shape only once. */
class StreamFactoryWarmupTest {
    private static StableDiffusionModels tiny;

    @BeforeAll
    static void load() throws Exception {
        tiny = TestServer.loadModels();
    }

    @AfterAll
    static void close() {
        tiny.close();
    }

    @Test
    void warmsTheDefaultShapesAtStartAndNewShapesOnce() throws Exception {
        Recording rec = new Recording();
        StableDiffusionModels models = rec.wrap(tiny);
        StreamFactory factory = new StreamFactory(models, TestServer.config(), 50, new int[] {0, 16, 32, 45},
                TestServer.PROMPT, "", TestServer.GUIDANCE_SCALE, TestServer.DELTA, TestServer.SEED, Warmup.RUNS);
        Warmup.Report start = factory.warmUpDefaults();
        assertThat(start.calls()).as("img2img: encoder, UNet, decoder; txt2img: UNet, decoder").isEqualTo(5 * Warmup.RUNS);
        assertThat(rec.encoderInputs).hasSize(Warmup.RUNS);
        int unetCalls = rec.unetCalls.size();

        try (StreamDiffusion img = factory.img2img(factory.initialSettings());
             StreamDiffusion txt = factory.txt2img(factory.initialSettings())) {
            assertThat(rec.unetCalls).as("sessions with the default shapes: already warm").hasSize(unetCalls);
        }
        StreamSettings d = factory.initialSettings();
        StreamSettings oneStep = new StreamSettings(d.prompt(), d.negativePrompt(), List.of(40), d.guidanceScale(), d.delta(),
                d.seed(), d.filter());
        try (StreamDiffusion a = factory.img2img(oneStep); StreamDiffusion b = factory.img2img(oneStep)) {
            assertThat(rec.unetCalls).as("one UNet row: a new shape, warmed for the first session only")
                    .hasSize(unetCalls + Warmup.RUNS);
            assertThat(a.unetCalls()).isZero();
        }
    }

    /** A live change to a new shape (another number of steps) warms it, on the path sessions take. */
    @Test
    void aLiveChangeToANewShapeWarmsItOnce() throws Exception {
        Recording rec = new Recording();
        StreamFactory factory = new StreamFactory(rec.wrap(tiny), TestServer.config(), 50, new int[] {0, 16, 32, 45},
                TestServer.PROMPT, "", TestServer.GUIDANCE_SCALE, TestServer.DELTA, TestServer.SEED, Warmup.RUNS);
        StreamSettings d = factory.initialSettings();
        StreamSettings threeSteps = new StreamSettings(d.prompt(), d.negativePrompt(), List.of(10, 25, 40), d.guidanceScale(),
                d.delta(), d.seed(), d.filter());
        try (StreamDiffusion stream = factory.img2img(d)) {
            int before = rec.unetCalls.size();
            factory.applyLive(d, threeSteps, stream, true);
            assertThat(rec.unetCalls).as("three steps: a new UNet batch, warmed").hasSize(before + Warmup.RUNS);
            assertThat(stream.unetCalls()).as("the stream's own count is untouched").isZero();
            factory.applyLive(threeSteps, d, stream, true);
            factory.applyLive(d, threeSteps, stream, true);
            assertThat(rec.unetCalls).as("both shapes warm now: no more runs").hasSize(before + Warmup.RUNS);
        }
    }

    @Test
    void theTestServersFactoryDoesNotWarmUp() throws Exception {
        Recording rec = new Recording();
        StreamFactory factory = TestServer.factory(rec.wrap(tiny));
        assertThat(factory.warmUpDefaults().ran()).isFalse();
        assertThat(rec.unetCalls).isEmpty();
    }
}
