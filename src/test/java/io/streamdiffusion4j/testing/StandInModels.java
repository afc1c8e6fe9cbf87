package io.streamdiffusion4j.testing;

import io.streamdiffusion4j.model.LatentDistribution;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.model.TextEncoder;
import io.streamdiffusion4j.model.Tokenizer;
import io.streamdiffusion4j.model.Vae;
import io.streamdiffusion4j.model.VaeDecoder;
import io.streamdiffusion4j.model.VaeEncoder;
import io.streamdiffusion4j.scheduler.SchedulerConfig;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.ArrayList;
import java.util.List;

/**
 * A whole pipeline of cheap deterministic stand-ins (no ONNX Runtime): a tokenizer and text
 * encoder whose embedding depends on the text, the {@link StandInUnet}, and a VAE that averages
 * 8x8 blocks and spreads them back. Each stand-in records its calls, so tests can check what the
 * pipeline fed each model and what it made of the answers.
 */
public final class StandInModels {
    public static final int LATENT_CHANNELS = 4;
    public static final int HIDDEN = 3;

    public final StandInUnet unet = new StandInUnet(LATENT_CHANNELS, HIDDEN);
    public final List<FloatTensor> encoderInputs = new ArrayList<>();
    public final List<LatentDistribution> encoderOutputs = new ArrayList<>();
    public final List<FloatTensor> decoderInputs = new ArrayList<>();
    public final List<FloatTensor> decoderOutputs = new ArrayList<>();
    public final List<String> encodedTexts = new ArrayList<>();
    public int closed;

    private StandInModels() {}

    /** Stand-in models with a deterministic (TAESD-like) or variational (KL-like) VAE of this scaling factor. */
    public static StandInModels create() {
        return new StandInModels();
    }

    public StableDiffusionModels models(boolean variational, float scalingFactor) {
        Tokenizer tokenizer = text -> {
            int[] ids = new int[77];
            ids[0] = 49406;
            int n = Math.min(text.length(), 75);
            for (int i = 0; i < n; i++) ids[i + 1] = text.charAt(i);
            ids[n + 1] = 49407;
            return ids;
        };
        TextEncoder textEncoder = new TextEncoder() {
            @Override
            public FloatTensor encode(int[] ids) {
                StringBuilder text = new StringBuilder();
                for (int i = 1; i < ids.length && ids[i] != 49407; i++) text.append((char) ids[i]);
                encodedTexts.add(text.toString());
                float[] out = new float[77 * HIDDEN];
                for (int p = 0; p < 77; p++) {
                    for (int k = 0; k < HIDDEN; k++) out[p * HIDDEN + k] = (ids[p] % 97) / 97f + 0.1f * k - 0.5f;
                }
                return new FloatTensor(out, 1, 77, HIDDEN);
            }

            @Override
            public int hiddenSize() {
                return HIDDEN;
            }

            @Override
            public void close() {
                closed++;
            }
        };
        VaeEncoder encoder = new VaeEncoder() {
            @Override
            public LatentDistribution encode(FloatTensor images) {
                encoderInputs.add(images.copy());
                int f = images.dim(0);
                int h = images.dim(2) / 8;
                int w = images.dim(3) / 8;
                float[] mean = new float[f * LATENT_CHANNELS * h * w];
                float[] std = new float[mean.length];
                float[] img = images.data();
                int ih = images.dim(2);
                int iw = images.dim(3);
                for (int r = 0; r < f; r++) {
                    for (int c = 0; c < LATENT_CHANNELS; c++) {
                        for (int y = 0; y < h; y++) {
                            for (int x = 0; x < w; x++) {
                                float sum = 0;
                                for (int dy = 0; dy < 8; dy++) {
                                    for (int dx = 0; dx < 8; dx++) {
                                        sum += img[((r * 3 + c % 3) * ih + y * 8 + dy) * iw + x * 8 + dx];
                                    }
                                }
                                int i = ((r * LATENT_CHANNELS + c) * h + y) * w + x;
                                mean[i] = sum / 64 + 0.1f * c;
                                std[i] = 0.3f + 0.05f * c + 0.01f * x;
                            }
                        }
                    }
                }
                int[] shape = {f, LATENT_CHANNELS, h, w};
                LatentDistribution d = variational
                        ? new LatentDistribution(new FloatTensor(mean, shape), new FloatTensor(std, shape))
                        : LatentDistribution.deterministic(new FloatTensor(mean, shape));
                encoderOutputs.add(d);
                return d;
            }

            @Override
            public void close() {
                closed++;
            }
        };
        VaeDecoder decoder = new VaeDecoder() {
            @Override
            public FloatTensor decode(FloatTensor latents) {
                decoderInputs.add(latents.copy());
                int f = latents.dim(0);
                int h = latents.dim(2);
                int w = latents.dim(3);
                float[] out = new float[f * 3 * h * 8 * w * 8];
                float[] z = latents.data();
                for (int r = 0; r < f; r++) {
                    for (int c = 0; c < 3; c++) {
                        for (int y = 0; y < h * 8; y++) {
                            for (int x = 0; x < w * 8; x++) {
                                float v = z[((r * LATENT_CHANNELS + c) * h + y / 8) * w + x / 8];
                                float v3 = z[((r * LATENT_CHANNELS + 3) * h + y / 8) * w + x / 8];
                                out[((r * 3 + c) * h * 8 + y) * w * 8 + x] = 0.8f * v - 0.2f * v3 + 0.01f * (x % 8);
                            }
                        }
                    }
                }
                FloatTensor images = new FloatTensor(out, f, 3, h * 8, w * 8);
                decoderOutputs.add(images.copy());
                return images;
            }

            @Override
            public void close() {
                closed++;
            }
        };
        Vae vae = new Vae(encoder, decoder, scalingFactor, LATENT_CHANNELS, variational ? "stand-in KL" : "stand-in tiny");
        return new StableDiffusionModels(tokenizer, textEncoder, new ClosingCounter(unet, this), vae,
                SchedulerConfig.SD_DEFAULT, "stand-in models");
    }

    /** The stand-in UNet, counting close() on the models. */
    private record ClosingCounter(StandInUnet delegate, StandInModels owner) implements io.streamdiffusion4j.model.Unet {
        @Override
        public FloatTensor predictNoise(FloatTensor sample, long[] timesteps, FloatTensor hidden) {
            return delegate.predictNoise(sample, timesteps, hidden);
        }

        @Override
        public Conditioning prepare(int[] sampleShape, long[] timesteps, FloatTensor hidden) {
            return delegate.prepare(sampleShape, timesteps, hidden);
        }

        @Override
        public void predictNoiseInto(FloatTensor sample, Conditioning conditioning, float[] eps) {
            delegate.predictNoiseInto(sample, conditioning, eps);
        }

        @Override
        public boolean acceptsResiduals() {
            return delegate.acceptsResiduals();
        }

        @Override
        public void predictNoiseInto(FloatTensor sample, Conditioning conditioning,
                                     io.streamdiffusion4j.model.ControlResiduals residuals, float[] eps) {
            delegate.predictNoiseInto(sample, conditioning, residuals, eps);
        }

        @Override
        public int latentChannels() {
            return delegate.latentChannels();
        }

        @Override
        public int crossAttentionDim() {
            return delegate.crossAttentionDim();
        }

        @Override
        public void close() {
            owner.closed++;
        }
    }
}
