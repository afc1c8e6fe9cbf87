package io.streamdiffusion4j.web;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Named t_index_lists for the page's strength control. StreamDiffusion has no strength knob
 * (the original's users ask for one, issues #102 and #118): how far a frame moves from the
 * camera is which timesteps it is denoised from. The lists are the original's for 50 inference
 * steps ([32, 45] is its img2img default), scaled when the server runs another number of steps.
 */
public record StrengthPresets(Map<String, List<Integer>> lists) {
    private static final Map<String, int[]> AT_50_STEPS = presetsAt50();

    private static Map<String, int[]> presetsAt50() {
        Map<String, int[]> m = new LinkedHashMap<>();
        m.put("subtle", new int[] {38, 45});
        m.put("medium", new int[] {32, 45});
        m.put("strong", new int[] {22, 32, 45});
        m.put("wild", new int[] {12, 24, 36, 45});
        return m;
    }

    public StrengthPresets {
        lists = Map.copyOf(lists);
    }

    /** The presets for a number of inference steps (entries scaled from 50 steps, kept distinct and in range). */
    public static StrengthPresets forSteps(int numInferenceSteps) {
        Map<String, List<Integer>> m = new LinkedHashMap<>();
        AT_50_STEPS.forEach((name, list) -> m.put(name, scale(list, numInferenceSteps)));
        return new StrengthPresets(m);
    }

    /** A t_index_list written for 50 inference steps, for another number of steps (distinct, increasing, in range). */
    public static List<Integer> scale(int[] at50Steps, int numInferenceSteps) {
        List<Integer> scaled = new ArrayList<>();
        for (int t : at50Steps) {
            int v = Math.min(numInferenceSteps - 1, (int) Math.round(t * numInferenceSteps / 50.0));
            if (scaled.isEmpty() || v > scaled.getLast()) scaled.add(v);
        }
        return List.copyOf(scaled);
    }

    /** Preset names in order from the weakest to the strongest. */
    public List<String> names() {
        return AT_50_STEPS.keySet().stream().filter(lists::containsKey).toList();
    }

    public List<Integer> get(String name) {
        return lists.get(name);
    }

    /** The preset's name for a t_index_list, or "custom". */
    public String nameOf(List<Integer> tIndexList) {
        for (String n : names()) if (lists.get(n).equals(tIndexList)) return n;
        return "custom";
    }
}
