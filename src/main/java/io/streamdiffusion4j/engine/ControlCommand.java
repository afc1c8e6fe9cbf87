package io.streamdiffusion4j.engine;

import io.streamdiffusion4j.pipeline.SimilarityFilterSettings;
import io.streamdiffusion4j.pipeline.StreamDiffusion;
import java.util.Arrays;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Live commands, one per line (typed on the CLI's standard input):
 * <pre>
 *   prompt a cat in the snow        negative blurry, low quality
 *   guidance 1.4 [DELTA]            delta 0.8
 *   t_index 22,32,45                seed 7
 *   filter on [THRESHOLD [MAX_SKIP]] | filter off
 *   status                          quit
 * </pre>
 */
public record ControlCommand(Kind kind, String description, Consumer<StreamDiffusion> change) {

    public enum Kind { CHANGE, STATUS, QUIT, HELP }

    public static final String HELP = String.join("\n",
            "commands: prompt TEXT | negative TEXT | guidance G [DELTA] | delta D | t_index I,J,...",
            "          seed N | filter on [THRESHOLD [MAX_SKIP]] | filter off | status | quit");

    /** Parses one line; a malformed command is an IllegalArgumentException saying what was expected. */
    public static ControlCommand parse(String line) {
        String s = line.strip();
        int space = s.indexOf(' ');
        String verb = (space < 0 ? s : s.substring(0, space)).toLowerCase(Locale.ROOT);
        String rest = space < 0 ? "" : s.substring(space + 1).strip();
        switch (verb) {
            case "prompt":
                return change("prompt: " + rest, st -> st.updatePrompt(rest));
            case "negative":
            case "negative_prompt":
                return change("negative prompt: " + rest, st -> st.updatePrompt(st.prompt(), rest));
            case "guidance":
            case "guidance_scale": {
                double[] v = numbers(verb, rest, 1, 2);
                return change("guidance_scale " + v[0] + (v.length > 1 ? ", delta " + v[1] : ""),
                        st -> st.updateGuidance(v[0], v.length > 1 ? v[1] : st.guidance().delta()));
            }
            case "delta": {
                double[] v = numbers(verb, rest, 1, 1);
                return change("delta " + v[0], st -> st.updateGuidance(guidanceScale(st), v[0]));
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
                if (t.length == 0) throw new IllegalArgumentException("t_index expects integers like 32,45");
                return change("t_index_list " + Arrays.toString(t), st -> st.updateTIndexList(t));
            }
            case "seed": {
                long seed;
                try {
                    seed = Long.parseLong(rest);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("seed expects an integer, found '" + rest + "'");
                }
                if (seed < 0) throw new IllegalArgumentException("seed must be >= 0, found " + seed);
                return change("seed " + seed, st -> st.updateSeed(seed));
            }
            case "filter": {
                String[] p = rest.split("\\s+");
                if (p[0].equalsIgnoreCase("off")) {
                    return change("similarity filter off", st -> st.updateSimilarityFilter(
                            new SimilarityFilterSettings(false, st.config().similarFilter().threshold(),
                                    st.config().similarFilter().maxSkipFrame())));
                }
                if (!p[0].equalsIgnoreCase("on")) throw new IllegalArgumentException("filter expects on or off, found '" + rest + "'");
                double[] v = p.length > 1 ? numbers(verb, rest.substring(2).strip(), 1, 2) : new double[0];
                return change("similarity filter on", st -> {
                    SimilarityFilterSettings cur = st.config().similarFilter();
                    st.updateSimilarityFilter(new SimilarityFilterSettings(true, v.length > 0 ? v[0] : cur.threshold(),
                            v.length > 1 ? (int) v[1] : cur.maxSkipFrame()));
                });
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

    private static double guidanceScale(StreamDiffusion st) {
        return st.guidance().scale();
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
