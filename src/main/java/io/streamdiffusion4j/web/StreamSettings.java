package io.streamdiffusion4j.web;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamdiffusion4j.pipeline.SimilarityFilterSettings;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.random.TorchSeed;
import java.util.List;
import java.util.Objects;

/**
 * What one session's pipeline generates with: everything a client may change while it streams.
 * Sizes, models and files are not here: the server decides those.
 */
public record StreamSettings(
        String prompt,
        String negativePrompt,
        List<Integer> tIndexList,
        double guidanceScale,
        double delta,
        long seed,
        SimilarityFilterSettings filter) {

    public StreamSettings {
        Objects.requireNonNull(prompt, "prompt");
        Objects.requireNonNull(negativePrompt, "negativePrompt");
        tIndexList = List.copyOf(tIndexList);
        Objects.requireNonNull(filter, "filter");
        // seed: any 64 bits, a TorchSeed (a negative long is a seed of 2^63 or more)
    }

    public int[] tIndexArray() {
        return tIndexList.stream().mapToInt(Integer::intValue).toArray();
    }

    StreamSettings withSeed(long v) {
        return new StreamSettings(prompt, negativePrompt, tIndexList, guidanceScale, delta, v, filter);
    }

    /**
     * Applies the differences from {@code previous} to a prepared stream, each through the
     * pipeline's live update (no reload). Called on the thread that runs the stream.
     */
    void applyChanges(StreamSettings previous, StreamDiffusion stream, boolean withTIndexList) {
        // t_index_list first: a different number of steps rebuilds the batch, later updates then act on it
        if (withTIndexList && !tIndexList.equals(previous.tIndexList)) stream.updateTIndexList(tIndexArray());
        if (guidanceScale != previous.guidanceScale || delta != previous.delta) stream.updateGuidance(guidanceScale, delta);
        if (!prompt.equals(previous.prompt) || !negativePrompt.equals(previous.negativePrompt)) {
            stream.updatePrompt(prompt, negativePrompt);
        }
        if (seed != previous.seed) stream.updateSeed(seed);
        if (!filter.equals(previous.filter)) stream.updateSimilarityFilter(filter);
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
        return o;
    }
}
