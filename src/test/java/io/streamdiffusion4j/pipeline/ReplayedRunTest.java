package io.streamdiffusion4j.pipeline;

import static io.streamdiffusion4j.testing.TensorAssert.assertClose;
import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.config.RunConfig;
import io.streamdiffusion4j.model.Unet;
import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.scheduler.LcmCoefficients;
import io.streamdiffusion4j.scheduler.LcmScheduler;
import io.streamdiffusion4j.scheduler.SchedulerConfig;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.testing.ReferenceRun;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * The Stream Batch and guidance math in isolation: every public reference run replayed with the
 * original's own recorded UNet outputs in place of the UNet, so the buffer, stock noise and
 * denoised output must follow the original's recurrences to float32 rounding, with no model
 * summation noise in between. One run per guidance path (self, full, self with delta over three
 * steps, initialize), so a dropped or reversed term in any of them fails here.
 */
class ReplayedRunTest {
    /**
     * Observed: no difference at all, in any tensor of any frame of the four runs. Every value is
     * the original's float32 operation in the same order (Java does not fuse multiply-adds), so
     * the recurrences are bit for bit those of PyTorch; any changed term shows here, including
     * ones far below the model noise of {@link ReferenceRunTest} (c_skip is 2.6e-7 at most).
     */
    private static final double TOLERANCE = 0;

    static final List<String> RUNS = ReferenceRun.PUBLIC;

    /** Answers each UNet call with the original's recorded output for that frame, and keeps the inputs. */
    private static final class ReplayedUnet implements Unet {
        final ReferenceRun run;
        final List<FloatTensor> samples = new ArrayList<>();
        final List<long[]> timesteps = new ArrayList<>();
        final List<FloatTensor> hiddenStates = new ArrayList<>();

        ReplayedUnet(ReferenceRun run) {
            this.run = run;
        }

        @Override
        public FloatTensor predictNoise(FloatTensor sample, long[] t, FloatTensor h) {
            samples.add(sample.copy());
            timesteps.add(t.clone());
            hiddenStates.add(h.copy());
            try {
                return run.tensor(String.format("f%03d_unet0_out", samples.size() - 1));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public int latentChannels() {
            return 4;
        }

        @Override
        public int crossAttentionDim() {
            return 16;
        }

        @Override
        public void close() {}
    }

    @ParameterizedTest
    @FieldSource("RUNS")
    void followsTheRecordedRecurrences(String runName) throws Exception {
        ReferenceRun run = ReferenceRun.named(runName);
        RunConfig rc = run.config();
        StreamConfig cfg = rc.streamConfig();
        Guidance guidance = Guidance.of(cfg.cfgType(), rc.guidanceScale(), rc.delta());
        LcmCoefficients coefficients = LcmCoefficients.compute(new LcmScheduler(SchedulerConfig.SD_DEFAULT),
                rc.numInferenceSteps(), cfg.tIndexList());
        ReplayedUnet unet = new ReplayedUnet(run);
        StreamBatch s = new StreamBatch(unet, cfg, coefficients, new TorchGenerator(cfg.seed()));
        s.setConditioning(guidance, PromptEncoder.conditioning(run.tensor("prompt_text_embeds"),
                run.tensor("negative_prompt_text_embeds"), guidance, cfg.batchSize(), cfg.frameBufferSize()));
        s.reset(run.tensor("init_noise"));
        double worstLatent = 0;
        double worstStock = 0;
        for (int f = 0; f < 8; f++) {
            String p = String.format("f%03d_", f);
            FloatTensor xIn = s.addInputNoise(run.tensor(p + "taesd_latents"));
            assertClose(p + "encoded_x_t_latent", xIn, run.tensor(p + "encoded_x_t_latent"), 0);
            // From here on the original's own input, so each frame checks that frame's math alone.
            FloatTensor out = s.denoise(run.tensor(p + "encoded_x_t_latent"));
            assertClose(p + "unet0_sample", unet.samples.get(f), run.tensor(p + "unet0_sample"), 0);
            assertThat(unet.timesteps.get(f)).as(p + "unet0_timestep").isEqualTo(run.ids(p + "unet0_timestep"));
            assertClose(p + "prompt_embeds", unet.hiddenStates.get(f), run.tensor("prompt_embeds"), 0);
            worstLatent = Math.max(worstLatent,
                    assertClose(p + "predict_out_x0", out, run.tensor(p + "predict_out_x0"), TOLERANCE));
            worstLatent = Math.max(worstLatent,
                    assertClose(p + "buffer_after", s.latentBuffer(), run.tensor(p + "buffer_after"), TOLERANCE));
            worstStock = Math.max(worstStock, assertClose(p + "stock_noise_after", s.stockNoise(),
                    run.tensor(p + "stock_noise_after"), TOLERANCE));
        }
        assertThat(unet.samples).hasSize(8);
        System.out.printf("%s replayed: largest difference x0/buffer %.3g, stock noise %.3g%n", runName, worstLatent,
                worstStock);
    }
}
