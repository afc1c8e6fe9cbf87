package io.streamdiffusion4j.testing;

import io.streamdiffusion4j.model.LatentDistribution;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.model.TextEncoder;
import io.streamdiffusion4j.model.Unet;
import io.streamdiffusion4j.model.Vae;
import io.streamdiffusion4j.model.VaeDecoder;
import io.streamdiffusion4j.model.VaeEncoder;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.util.ArrayList;
import java.util.List;

/** Decorators that record every model call, so tests can compare the pipeline's intermediate tensors. */
public final class Recording {
    public record UnetCall(FloatTensor sample, long[] timesteps, FloatTensor hiddenStates, FloatTensor output) {}

    public final List<int[]> textInputs = new ArrayList<>();
    public final List<FloatTensor> textOutputs = new ArrayList<>();
    public final List<UnetCall> unetCalls = new ArrayList<>();
    public final List<FloatTensor> encoderInputs = new ArrayList<>();
    public final List<LatentDistribution> encoderOutputs = new ArrayList<>();
    public final List<FloatTensor> decoderInputs = new ArrayList<>();
    public final List<FloatTensor> decoderOutputs = new ArrayList<>();

    /** The same models, with every call recorded here. Closing the result closes the originals. */
    public StableDiffusionModels wrap(StableDiffusionModels m) {
        TextEncoder text = new TextEncoder() {
            @Override
            public FloatTensor encode(int[] ids) {
                FloatTensor out = m.textEncoder().encode(ids);
                textInputs.add(ids.clone());
                textOutputs.add(out.copy());
                return out;
            }

            @Override
            public int hiddenSize() {
                return m.textEncoder().hiddenSize();
            }

            @Override
            public void close() {
                m.textEncoder().close();
            }
        };
        Unet unet = new Unet() {
            @Override
            public FloatTensor predictNoise(FloatTensor sample, long[] t, FloatTensor h) {
                FloatTensor out = m.unet().predictNoise(sample, t, h);
                unetCalls.add(new UnetCall(sample.copy(), t.clone(), h.copy(), out.copy()));
                return out;
            }

            @Override
            public int latentChannels() {
                return m.unet().latentChannels();
            }

            @Override
            public int crossAttentionDim() {
                return m.unet().crossAttentionDim();
            }

            @Override
            public void close() {
                m.unet().close();
            }
        };
        VaeEncoder enc = new VaeEncoder() {
            @Override
            public LatentDistribution encode(FloatTensor images) {
                LatentDistribution out = m.vae().encoder().encode(images);
                encoderInputs.add(images.copy());
                encoderOutputs.add(out);
                return out;
            }

            @Override
            public void close() {
                m.vae().encoder().close();
            }
        };
        VaeDecoder dec = new VaeDecoder() {
            @Override
            public FloatTensor decode(FloatTensor latents) {
                FloatTensor out = m.vae().decoder().decode(latents);
                decoderInputs.add(latents.copy());
                decoderOutputs.add(out.copy());
                return out;
            }

            @Override
            public void close() {
                m.vae().decoder().close();
            }
        };
        Vae vae = new Vae(enc, dec, m.vae().scalingFactor(), m.vae().latentChannels(), m.vae().name());
        return new StableDiffusionModels(m.tokenizer(), text, unet, vae, m.schedulerConfig(), m.description());
    }
}
