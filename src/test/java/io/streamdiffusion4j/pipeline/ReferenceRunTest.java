package io.streamdiffusion4j.pipeline;

import static io.streamdiffusion4j.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.config.RunConfig;
import io.streamdiffusion4j.image.ImageFiles;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.onnx.OnnxModelLoader;
import io.streamdiffusion4j.scheduler.LcmScheduler;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.tensor.Npy;
import io.streamdiffusion4j.testing.Fixtures;
import io.streamdiffusion4j.testing.Recording;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Reproduces the public reference run of the Python original (img2img, Stream Batch of two steps,
 * RCFG self, TAESD) from the fixture's ONNX models, checking every recorded intermediate tensor
 * frame by frame, and the eight output frames within 1e-3.
 */
class ReferenceRunTest {
    /** Same operations in float32, different summation order in the models: ~1e-5 expected. */
    private static final double STEP_TOLERANCE = 2e-4;
    private static final double OUTPUT_TOLERANCE = 1e-3;

    private static FloatTensor tensor(String name) throws Exception {
        return Npy.readFloats(Fixtures.tensor(name));
    }

    private static long[] ids(String name) throws Exception {
        return Npy.readLongs(Fixtures.tensor(name));
    }

    @Test
    void reproducesEveryRecordedTensorOfThePublicRun() throws Exception {
        Path run = Fixtures.publicRun();
        RunConfig rc = RunConfig.fromJson(RunConfig.readJson(run.resolve("config.json")), "config.json");
        Recording rec = new Recording();
        StableDiffusionModels models = rec.wrap(
                OnnxModelLoader.load(Fixtures.onnxModel(), Fixtures.taesd(), OnnxModelLoader.Options.defaults()));
        double worstOutput = 0;
        try (models; StreamDiffusion stream = StreamDiffusion.builder().models(models).config(rc.streamConfig()).build()) {
            stream.prepare(rc.prompt(), rc.negativePrompt(), rc.numInferenceSteps(), rc.guidanceScale(), rc.delta());

            // Tokens and prompt embeddings, computed once.
            assertThat(toLongs(stream.prompts().tokenIds(rc.prompt()))).isEqualTo(ids("prompt_input_ids"));
            assertThat(toLongs(stream.prompts().tokenIds(rc.negativePrompt()))).isEqualTo(ids("negative_prompt_input_ids"));
            assertClose("prompt_text_embeds", stream.prompts().encode(rc.prompt()), tensor("prompt_text_embeds"), 1e-5);
            assertClose("negative_prompt_text_embeds", stream.prompts().encode(rc.negativePrompt()),
                    tensor("negative_prompt_text_embeds"), 1e-5);

            // Scheduler quantities.
            var c = stream.streamBatch().coefficients();
            assertThat(Arrays.stream(c.timestepSchedule()).asLongStream().toArray()).isEqualTo(ids("timesteps"));
            assertThat(Arrays.stream(c.timesteps()).asLongStream().toArray()).isEqualTo(ids("sub_timesteps"));
            assertClose("alphas_cumprod", new LcmScheduler(models.schedulerConfig()).alphasCumprod(),
                    tensor("alphas_cumprod").data(), 0);
            assertClose("alpha_prod_t_sqrt", c.alphaProdSqrt(), tensor("alpha_prod_t_sqrt").data(), 0);
            assertClose("beta_prod_t_sqrt", c.betaProdSqrt(), tensor("beta_prod_t_sqrt").data(), 0);
            assertClose("c_skip", c.cSkip(), tensor("c_skip").data(), 0);
            assertClose("c_out", c.cOut(), tensor("c_out").data(), 0);

            // Seeded noise and the empty stream.
            assertClose("init_noise", stream.streamBatch().initNoise(), tensor("init_noise"), 0);
            assertClose("stock_noise_initial", stream.streamBatch().stockNoise(), tensor("stock_noise_initial"), 0);
            assertClose("x_t_latent_buffer_initial", stream.streamBatch().latentBuffer(),
                    tensor("x_t_latent_buffer_initial"), 0);

            List<Path> frames = ImageFiles.list(Fixtures.frames());
            assertThat(frames).hasSize(8);
            for (int f = 0; f < frames.size(); f++) {
                String p = String.format("f%03d_", f);
                FloatTensor input = stream.preprocessor().toTensor(ImageFiles.read(frames.get(f)));
                assertClose(p + "input_image", input, tensor(p + "input_image"), 0);
                assertClose(p + "buffer_before", stream.streamBatch().latentBuffer(), tensor(p + "buffer_before"), STEP_TOLERANCE);
                assertClose(p + "stock_noise_before", stream.streamBatch().stockNoise(), tensor(p + "stock_noise_before"),
                        STEP_TOLERANCE);

                FloatTensor output = stream.img2img(input);

                assertClose(p + "taesd_latents", rec.encoderOutputs.get(f).mean(), tensor(p + "taesd_latents"), STEP_TOLERANCE);
                Recording.UnetCall call = rec.unetCalls.get(f);
                assertClose(p + "encoded_x_t_latent", call.sample().rows(0, 1), tensor(p + "encoded_x_t_latent"), STEP_TOLERANCE);
                assertClose(p + "predict_in_x_t_latent", call.sample().rows(0, 1), tensor(p + "predict_in_x_t_latent"),
                        STEP_TOLERANCE);
                assertClose(p + "unet0_sample", call.sample(), tensor(p + "unet0_sample"), STEP_TOLERANCE);
                assertThat(call.timesteps()).as(p + "unet0_timestep").isEqualTo(ids(p + "unet0_timestep"));
                assertClose(p + "prompt_embeds", call.hiddenStates(), tensor("prompt_embeds"), 1e-5);
                assertClose(p + "unet0_out", call.output(), tensor(p + "unet0_out"), STEP_TOLERANCE);
                assertClose(p + "predict_out_x0", rec.decoderInputs.get(f), tensor(p + "predict_out_x0"), STEP_TOLERANCE);
                assertClose(p + "decoded", output, tensor(p + "decoded"), STEP_TOLERANCE);
                assertClose(p + "buffer_after", stream.streamBatch().latentBuffer(), tensor(p + "buffer_after"), STEP_TOLERANCE);
                assertClose(p + "stock_noise_after", stream.streamBatch().stockNoise(), tensor(p + "stock_noise_after"),
                        STEP_TOLERANCE);

                FloatTensor expected = Npy.readFloats(run.resolve(String.format("frames/%03d.npy", f)));
                float[] actual = io.streamdiffusion4j.image.ImagePostprocessor.toUnitHwc(output, 0);
                worstOutput = Math.max(worstOutput, assertClose("output frame " + f, actual, expected.data(), OUTPUT_TOLERANCE));
            }
            assertThat(rec.unetCalls).hasSize(8);
            assertThat(rec.textOutputs).as("each prompt is encoded once").hasSizeLessThanOrEqualTo(2);
        }
        System.out.printf("public reference run: largest output difference %.3g%n", worstOutput);
        assertThat(Files.exists(run)).isTrue();
    }

    private static long[] toLongs(int[] a) {
        return Arrays.stream(a).asLongStream().toArray();
    }
}
