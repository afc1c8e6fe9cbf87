package io.streamdiffusion4j.web;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamdiffusion4j.pipeline.Interpolation;
import io.streamdiffusion4j.pipeline.PromptBlend;
import io.streamdiffusion4j.pipeline.SeedBlend;
import io.streamdiffusion4j.pipeline.SimilarityFilterSettings;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.pipeline.WeightedPrompt;
import io.streamdiffusion4j.pipeline.WeightedSeed;
import io.streamdiffusion4j.random.TorchSeed;
import java.util.List;
import java.util.Objects;

/**
 * What one session's pipeline generates with: everything a client may change while it streams.
 * Sizes, models and files are not here: the server decides those.
 *
 * @param promptList a prompt blend, or empty for the single {@code prompt} (whose text is then
 *                   the blend's first weighted text)
 * @param seedList   a seed blend, or empty for the single {@code seed} (the blend's first weighted seed)
 * @param ipAdapterScale the IP-Adapter's scale, NaN when the server runs none (the style image is
 *                   not a setting: it comes as an image, see {@link Img2ImgSocket})
 */
public record StreamSettings(
        String prompt,
        String negativePrompt,
        List<Integer> tIndexList,
        double guidanceScale,
        double delta,
        long seed,
        SimilarityFilterSettings filter,
        List<WeightedPrompt> promptList,
        Interpolation interpolation,
        List<WeightedSeed> seedList,
        int promptTransitionFrames,
        List<Double> controlnetScales,
        double ipAdapterScale) {

    public StreamSettings {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(negativePrompt, "negativePrompt");
        tIndexList = List.copyOf(tIndexList);
        Objects.requireNonNull(filter, "filter");
        // seed: any 64 bits, a TorchSeed (a negative long is a seed of 2^63 or more)
        promptList = List.copyOf(promptList);
        Objects.requireNonNull(interpolation, "interpolation");
        seedList = List.copyOf(seedList);
        controlnetScales = List.copyOf(controlnetScales);
    }

    /** Settings without an IP-Adapter. */
    public StreamSettings(String prompt, String negativePrompt, List<Integer> tIndexList, double guidanceScale, double delta,
                          long seed, SimilarityFilterSettings filter, List<WeightedPrompt> promptList, Interpolation interpolation,
                          List<WeightedSeed> seedList, int promptTransitionFrames, List<Double> controlnetScales) {
        this(prompt, negativePrompt, tIndexList, guidanceScale, delta, seed, filter, promptList, interpolation, seedList,
                promptTransitionFrames, controlnetScales, Double.NaN);
    }

    /** Settings without ControlNets. */
    public StreamSettings(String prompt, String negativePrompt, List<Integer> tIndexList, double guidanceScale, double delta,
                          long seed, SimilarityFilterSettings filter, List<WeightedPrompt> promptList, Interpolation interpolation,
                          List<WeightedSeed> seedList, int promptTransitionFrames) {
        this(prompt, negativePrompt, tIndexList, guidanceScale, delta, seed, filter, promptList, interpolation, seedList,
                promptTransitionFrames, List.of());
    }

    /** Settings without blends: one prompt, one seed, prompt changes at once. */
    public StreamSettings(String prompt, String negativePrompt, List<Integer> tIndexList, double guidanceScale, double delta,
                          long seed, SimilarityFilterSettings filter) {
        this(prompt, negativePrompt, tIndexList, guidanceScale, delta, seed, filter, List.of(), Interpolation.LINEAR, List.of(), 0);
    }

    /** The prompt blend the stream uses (a single prompt is a one-entry blend). */
    public PromptBlend promptBlend() {
        return new PromptBlend(promptList.isEmpty() ? List.of(new WeightedPrompt(prompt, 1)) : promptList, interpolation);
    }

    /** The seed blend of the fixed noise (a single seed is a one-entry blend). */
    public SeedBlend seedBlend() {
        return seedList.isEmpty() ? SeedBlend.of(seed) : new SeedBlend(seedList);
    }

    public int[] tIndexArray() {
        return tIndexList.stream().mapToInt(Integer::intValue).toArray();
    }

    StreamSettings withSeed(long v) {
        return new StreamSettings(prompt, negativePrompt, tIndexList, guidanceScale, delta, v, filter, promptList, interpolation,
                seedList, promptTransitionFrames, controlnetScales, ipAdapterScale);
    }

    /** The same settings with these ControlNet scales (one per ControlNet of the server). */
    StreamSettings withControlnetScales(List<Double> v) {
        return new StreamSettings(prompt, negativePrompt, tIndexList, guidanceScale, delta, seed, filter, promptList, interpolation,
                seedList, promptTransitionFrames, v, ipAdapterScale);
    }

    /** The same settings with this IP-Adapter scale (NaN: the server runs none). */
    StreamSettings withIpAdapterScale(double v) {
        return new StreamSettings(prompt, negativePrompt, tIndexList, guidanceScale, delta, seed, filter, promptList, interpolation,
                seedList, promptTransitionFrames, controlnetScales, v);
    }

    /** Whether the server runs an IP-Adapter (its sessions then have a scale). */
    boolean hasIpAdapter() {
        return !Double.isNaN(ipAdapterScale);
    }

    /**
     * Applies the differences from {@code previous} to a prepared stream, each through the
     * pipeline's live update (no reload). Called on the thread that runs the stream.
     */
    void applyChanges(StreamSettings previous, StreamDiffusion stream, boolean withTIndexList) {
        // t_index_list first: a different number of steps rebuilds the batch, later updates then act on it
        if (withTIndexList && !tIndexList.equals(previous.tIndexList)) stream.updateTIndexList(tIndexArray());
        if (guidanceScale != previous.guidanceScale || delta != previous.delta) stream.updateGuidance(guidanceScale, delta);
        if (promptTransitionFrames != previous.promptTransitionFrames) stream.updatePromptTransitionFrames(promptTransitionFrames);
        PromptBlend blend = promptBlend();
        if (!blend.equals(previous.promptBlend()) || !negativePrompt.equals(previous.negativePrompt)) {
            stream.updatePromptBlend(blend, negativePrompt);
        }
        SeedBlend seeds = seedBlend();
        if (!seeds.equals(previous.seedBlend())) stream.updateSeedBlend(seeds);
        if (!filter.equals(previous.filter)) stream.updateSimilarityFilter(filter);
        if (stream.controlNets() != null) {
            for (int i = 0; i < controlnetScales.size(); i++) {
                if (i >= previous.controlnetScales.size() || !controlnetScales.get(i).equals(previous.controlnetScales.get(i))) {
                    stream.updateControlNetScale(i, controlnetScales.get(i));
                }
            }
        }
        if (stream.hasIpAdapter() && hasIpAdapter() && Double.compare(ipAdapterScale, previous.ipAdapterScale) != 0) {
            stream.updateIpAdapterScale(ipAdapterScale);
        }
    }

    /** The settings as the protocol's JSON (snake_case, as the run configuration). */
    ObjectNode toJson(StrengthPresets presets) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("prompt", prompt);
        o.put("negative_prompt", negativePrompt);
        o.put("strength", presets.nameOf(tIndexList));
        var t = o.putArray("t_index_list");
        tIndexList.forEach(t::add);
        o.put("guidance_scale", guidanceScale);
        o.put("delta", delta);
        o.put("seed", TorchSeed.unsigned(seed));
        ObjectNode f = o.putObject("similar_image_filter");
        f.put("enabled", filter.enabled());
        f.put("threshold", filter.threshold());
        f.put("max_skip_frame", filter.maxSkipFrame());
        if (!promptList.isEmpty()) {
            var list = o.putArray("prompt_list");
            promptList.forEach(p -> list.addArray().add(p.text()).add(p.weight()));
        }
        // the blending keys only when used, so a plain session's settings read as before
        if (!promptList.isEmpty() || interpolation != Interpolation.LINEAR) o.put("interpolation", interpolation.key());
        if (!seedList.isEmpty()) {
            var list = o.putArray("seed_list");
            seedList.forEach(x -> list.addArray().add(TorchSeed.unsigned(x.seed())).add(x.weight()));
        }
        if (promptTransitionFrames > 0) o.put("prompt_transition_frames", promptTransitionFrames);
        if (!controlnetScales.isEmpty()) {
            var list = o.putArray("controlnet_scales");
            controlnetScales.forEach(list::add);
        }
        if (hasIpAdapter()) o.put("ip_adapter_scale", ipAdapterScale);
        return o;
    }
}
