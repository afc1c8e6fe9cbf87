package io.streamdiffusion4j.engine;

import io.streamdiffusion4j.config.BlendSyntax;
import io.streamdiffusion4j.image.ImageFiles;
import io.streamdiffusion4j.image.ImageSizeLimit;
import io.streamdiffusion4j.image.RgbImage;
import io.streamdiffusion4j.pipeline.Interpolation;
import io.streamdiffusion4j.pipeline.IpAdapterStyle;
import io.streamdiffusion4j.pipeline.LiveSettingsLimits;
import io.streamdiffusion4j.pipeline.PromptBlend;
import io.streamdiffusion4j.pipeline.SeedBlend;
import io.streamdiffusion4j.pipeline.SimilarityFilterSettings;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import io.streamdiffusion4j.pipeline.WeightedPrompt;
import io.streamdiffusion4j.random.TorchSeed;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Live commands, one per line (typed on the CLI's standard input):
 * <pre>
 *   prompt a cat in the snow        negative blurry, low quality
 *   guidance 1.4 [DELTA]            delta 0.8
 *   t_index 22,32,45                seed 7
 *   filter on [THRESHOLD [MAX_SKIP]] | filter off
 *   prompt_blend a cat:0.7 | a dog:0.3        seed_blend 2:0.5, 7:0.5
 *   interpolation slerp             transition 30
 *   controlnet 0 0.8                (ControlNet 0's conditioning scale; 0 turns it off)
 *   style FILE                      ip_scale 0.6     (with --ip-adapter)
 *   status                          quit
 * </pre>
 * Blend entries are written as {@link BlendSyntax} says ({@code TEXT[:WEIGHT]} separated by
 * {@code |}, {@code SEED[:WEIGHT]} separated by commas); {@code interpolation} changes how the
 * current prompt blend is combined; {@code transition N} spreads later prompt changes over N frames.
 * Every value is checked when the line is parsed, against {@link LiveSettingsLimits} (the web's
 * bounds too) and the running stream's num_inference_steps: a bad command is refused before it
 * is acknowledged, so the change applied at the next frame cannot fail.
 */
public record ControlCommand(Kind kind, String description, Consumer<StreamDiffusion> change) {

    public enum Kind { CHANGE, STATUS, QUIT, HELP }

    public static final String HELP = String.join("\n",
            "commands: prompt TEXT | negative TEXT | guidance G [DELTA] | delta D | t_index I,J,...",
            "          seed N | filter on [THRESHOLD [MAX_SKIP]] | filter off | status | quit",
            "          prompt_blend TEXT:W | TEXT:W ... | seed_blend SEED:W, SEED:W ... | interpolation linear|slerp",
            "          transition N (spread later prompt changes over N frames)",
            "          controlnet INDEX SCALE (a ControlNet's conditioning scale in [0, 2]; 0 turns it off)",
            "          style FILE | ip_scale S (with --ip-adapter: the style image, the adapter's scale)");

    /**
     * Parses and checks one line for a stream of {@code numInferenceSteps} scheduler steps; a
     * malformed or out-of-range command is an IllegalArgumentException saying what was expected.
     */
    public static ControlCommand parse(String line, int numInferenceSteps) {
        return parse(line, numInferenceSteps, 0, false);
    }

    /** {@link #parse(String, int, int, boolean)} for a stream with {@code controlNets} ControlNets and no IP-Adapter. */
    public static ControlCommand parse(String line, int numInferenceSteps, int controlNets) {
        return parse(line, numInferenceSteps, controlNets, false);
    }

    /** {@link #parse(String, int, int, boolean)} for a stream without ControlNets that may have an IP-Adapter. */
    public static ControlCommand parse(String line, int numInferenceSteps, boolean ipAdapter) {
        return parse(line, numInferenceSteps, 0, ipAdapter);
    }

    /**
     * {@link #parse(String, int)} for a stream with {@code controlNets} ControlNets (a {@code
     * controlnet} command's index is checked before it is acknowledged) and maybe an IP-Adapter:
     * {@code style FILE} (the image is read and checked here, with the file size limits) and
     * {@code ip_scale S}; refused without one.
     */
    public static ControlCommand parse(String line, int numInferenceSteps, int controlNets, boolean ipAdapter) {
        String s = line.strip();
        int space = s.indexOf(' ');
        String verb = (space < 0 ? s : s.substring(0, space)).toLowerCase(Locale.ROOT);
        String rest = space < 0 ? "" : s.substring(space + 1).strip();
        switch (verb) {
            case "prompt": {
                String prompt = LiveSettingsLimits.checkPrompt("prompt", rest);
                return change("prompt: " + prompt, st -> st.updatePrompt(prompt));
            }
            case "negative":
            case "negative_prompt": {
                String negative = LiveSettingsLimits.checkPrompt("negative_prompt", rest);
                return change("negative prompt: " + negative, st -> st.updatePrompt(st.prompt(), negative));
            }
            case "guidance":
            case "guidance_scale": {
                double[] v = numbers(verb, rest, 1, 2);
                double scale = LiveSettingsLimits.GUIDANCE_SCALE.check(v[0]);
                if (v.length > 1) {
                    double delta = LiveSettingsLimits.DELTA.check(v[1]);
                    return change("guidance_scale " + scale + ", delta " + delta, st -> st.updateGuidance(scale, delta));
                }
                return change("guidance_scale " + scale, st -> st.updateGuidance(scale, st.guidance().delta()));
            }
            case "delta": {
                double delta = LiveSettingsLimits.DELTA.check(numbers(verb, rest, 1, 1)[0]);
                return change("delta " + delta, st -> st.updateGuidance(st.guidance().scale(), delta));
            }
            case "t_index":
            case "t_index_list": {
                int[] t;
                try {
                    t = Arrays.stream(rest.replace("[", "").replace("]", "").split("[,\\s]+"))
                            .filter(x -> !x.isEmpty()).mapToInt(Integer::parseInt).toArray();
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("t_index expects integers like 32,45, found '" + rest + "'");
                }
                LiveSettingsLimits.checkTIndexList(t, numInferenceSteps);
                return change("t_index_list " + Arrays.toString(t), st -> st.updateTIndexList(t));
            }
            case "seed": {
                BigInteger value;
                try {
                    value = new BigInteger(rest.length() > 40 ? "x" : rest);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("seed expects an integer, found '" + rest + "'");
                }
                long seed = TorchSeed.of(value); // any seed torch.manual_seed takes, the same range as the web
                return change("seed " + TorchSeed.unsigned(seed), st -> st.updateSeed(seed));
            }
            case "filter": {
                String[] p = rest.split("\\s+", 2);
                String state = p[0].toLowerCase(Locale.ROOT);
                String values = p.length > 1 ? p[1].strip() : "";
                if (state.equals("off")) {
                    if (!values.isEmpty()) throw new IllegalArgumentException("filter off takes no values, found '" + values + "'");
                    return change("similarity filter off", st -> st.updateSimilarityFilter(
                            new SimilarityFilterSettings(false, st.config().similarFilter().threshold(),
                                    st.config().similarFilter().maxSkipFrame())));
                }
                if (!state.equals("on")) throw new IllegalArgumentException("filter expects on or off, found '" + rest + "'");
                double[] v = values.isEmpty() ? new double[0] : numbers("filter on", values, 1, 2);
                Double threshold = v.length > 0 ? LiveSettingsLimits.FILTER_THRESHOLD.check(v[0]) : null;
                Integer maxSkip = v.length > 1 ? LiveSettingsLimits.checkMaxSkipFrame(v[1]) : null;
                return change("similarity filter on" + (threshold != null ? ", threshold " + threshold : "")
                        + (maxSkip != null ? ", max_skip_frame " + maxSkip : ""), st -> {
                    SimilarityFilterSettings cur = st.config().similarFilter();
                    st.updateSimilarityFilter(new SimilarityFilterSettings(true, threshold != null ? threshold : cur.threshold(),
                            maxSkip != null ? maxSkip : cur.maxSkipFrame()));
                });
            }
            case "prompt_blend": {
                List<WeightedPrompt> entries = BlendSyntax.prompts(rest);
                for (WeightedPrompt p : entries) LiveSettingsLimits.checkPrompt("prompt_blend text", p.text());
                new PromptBlend(entries, Interpolation.LINEAR); // checked now: the change at the next frame cannot fail
                return change("prompt blend: " + describe(entries), st -> st.updatePromptBlend(
                        new PromptBlend(entries, st.promptBlend().interpolation())));
            }
            case "seed_blend": {
                SeedBlend blend = new SeedBlend(BlendSyntax.seeds(rest));
                return change("seed blend: " + blend.seeds().stream()
                        .map(x -> TorchSeed.unsigned(x.seed()) + ":" + x.weight()).toList(), st -> st.updateSeedBlend(blend));
            }
            case "interpolation": {
                Interpolation i = Interpolation.parse(rest);
                return change("interpolation " + i.key(), st -> st.updatePromptBlend(new PromptBlend(st.promptBlend().prompts(), i)));
            }
            case "transition":
            case "prompt_transition_frames": {
                int frames = LiveSettingsLimits.checkTransitionFrames(numbers(verb, rest, 1, 1)[0]);
                return change("prompt changes spread over " + frames + " frame(s)", st -> st.updatePromptTransitionFrames(frames));
            }
            case "controlnet":
            case "controlnet_scale": {
                if (controlNets == 0) throw new IllegalArgumentException("this stream has no ControlNet (start it with --controlnet)");
                double[] v = numbers(verb, rest, 2, 2);
                if (v[0] != Math.rint(v[0]) || v[0] < 0 || v[0] >= controlNets) {
                    throw new IllegalArgumentException("controlnet index must be a whole number in [0, " + (controlNets - 1)
                            + "], found " + rest.split("[,\\s]+")[0]);
                }
                int index = (int) v[0];
                double scale = LiveSettingsLimits.CONTROLNET_SCALE.check(v[1]);
                return change("controlnet " + index + " scale " + scale, st -> st.updateControlNetScale(index, scale));
            }
            case "style":
            case "style_image": {
                requireIpAdapter(verb, ipAdapter);
                if (rest.isEmpty()) throw new IllegalArgumentException(verb + " expects an image file");
                RgbImage image;
                try {
                    image = ImageFiles.read(Path.of(rest), ImageSizeLimit.FILES);
                } catch (IOException | InvalidPathException e) {
                    throw new IllegalArgumentException(verb + ": " + e.getMessage(), e);
                }
                return change("style image: " + rest + " (" + image.width() + "x" + image.height() + ")",
                        st -> st.updateStyleImage(image));
            }
            case "ip_scale":
            case "ip_adapter_scale": {
                requireIpAdapter(verb, ipAdapter);
                double scale = numbers(verb, rest, 1, 1)[0];
                if (scale < 0 || scale > IpAdapterStyle.MAX_SCALE) {
                    throw new IllegalArgumentException(verb + " must be between 0 and " + IpAdapterStyle.MAX_SCALE + ", found " + rest);
                }
                return change("IP-Adapter scale " + scale, st -> st.updateIpAdapterScale(scale));
            }
            case "status":
                return new ControlCommand(Kind.STATUS, "status", null);
            case "quit":
            case "stop":
            case "exit":
                return new ControlCommand(Kind.QUIT, "quit", null);
            case "help":
            case "?":
                return new ControlCommand(Kind.HELP, HELP, null);
            default:
                throw new IllegalArgumentException("unknown command '" + verb + "'\n" + HELP);
        }
    }

    private static void requireIpAdapter(String verb, boolean ipAdapter) {
        if (!ipAdapter) throw new IllegalArgumentException(verb + " needs a stream started with --ip-adapter");
    }

    private static String describe(List<WeightedPrompt> entries) {
        return String.join(" | ", entries.stream().map(p -> p.text() + ":" + p.weight()).toList());
    }

    private static ControlCommand change(String description, Consumer<StreamDiffusion> c) {
        return new ControlCommand(Kind.CHANGE, description, c);
    }

    private static double[] numbers(String verb, String rest, int min, int max) {
        String[] p = rest.isEmpty() ? new String[0] : rest.split("[,\\s]+");
        if (p.length < min || p.length > max) {
            throw new IllegalArgumentException(verb + " expects " + (min == max ? min : min + " or " + max) + " number(s), found '" + rest + "'");
        }
        double[] out = new double[p.length];
        for (int i = 0; i < p.length; i++) {
            try {
                out[i] = Double.parseDouble(p[i]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(verb + " expects numbers, found '" + p[i] + "'");
            }
            if (!Double.isFinite(out[i])) throw new IllegalArgumentException(verb + " expects finite numbers");
        }
        return out;
    }
}
