package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.pipeline.Interpolation;
import io.streamdiffusion4j.pipeline.PromptBlend;
import io.streamdiffusion4j.pipeline.SeedBlend;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.pipeline.Warmup;
import io.streamdiffusion4j.pipeline.WeightedPrompt;
import io.streamdiffusion4j.pipeline.WeightedSeed;
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

    /** serve's prompt_list / seed_list / transition: every session starts from them, through the live-update path's own types. */
    @Test
    void sessionsStartFromTheServersBlends() throws Exception {
        PromptBlend prompts = new PromptBlend(List.of(new WeightedPrompt("a cat", 0.7), new WeightedPrompt("a dog", 0.3)),
                Interpolation.SLERP);
        SeedBlend seeds = new SeedBlend(List.of(new WeightedSeed(2, 0.5), new WeightedSeed(7, 0.5)));
        StreamFactory factory = new StreamFactory(tiny, TestServer.config(), 50, new int[] {0, 16, 32, 45}, TestServer.PROMPT, "",
                TestServer.GUIDANCE_SCALE, TestServer.DELTA, -1, 0).startingBlends(prompts, seeds, 5);
        StreamSettings initial = factory.initialSettings();
        assertThat(initial.promptBlend()).isEqualTo(prompts);
        assertThat(initial.seedBlend()).isEqualTo(seeds);
        assertThat(initial.seed()).as("a seed blend fixes the noise even when the server's seed is random").isEqualTo(2);
        assertThat(initial.promptTransitionFrames()).isEqualTo(5);
        try (StreamDiffusion stream = factory.img2img(initial)) {
            assertThat(stream.promptBlend()).isEqualTo(prompts);
            assertThat(stream.seedBlend()).isEqualTo(seeds);
        }
        // without blends the sessions keep the single prompt
        StreamFactory plain = new StreamFactory(tiny, TestServer.config(), 50, new int[] {0, 16, 32, 45}, TestServer.PROMPT, "",
                TestServer.GUIDANCE_SCALE, TestServer.DELTA, 3, 0).startingBlends(PromptBlend.of(TestServer.PROMPT), null, 0);
        assertThat(plain.initialSettings().promptList()).isEmpty();
        assertThat(plain.initialSettings().seedList()).isEmpty();
        assertThat(plain.initialSettings().seed()).isEqualTo(3);
    }

    @Test
    void theTestServersFactoryDoesNotWarmUp() throws Exception {
        Recording rec = new Recording();
        StreamFactory factory = TestServer.factory(rec.wrap(tiny));
        assertThat(factory.warmUpDefaults().ran()).isFalse();
        assertThat(rec.unetCalls).isEmpty();
    }
}
