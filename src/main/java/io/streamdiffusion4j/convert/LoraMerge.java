package io.streamdiffusion4j.convert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.streamdiffusion4j.checkpoint.LdmNames;
import io.streamdiffusion4j.checkpoint.UnetLayout;
import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.weights.DType;
import io.streamdiffusion4j.weights.SafeTensors;
import io.streamdiffusion4j.weights.WeightSource;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import java.util.stream.IntStream;

/**
 * LoRA weights merged into a base model at conversion time: a {@link WeightSource} whose
 * {@link #floats} returns {@code W + sum over LoRAs of scale * alpha / rank * (up @ down)} for
 * each weight a LoRA touches, and the base value for every other weight — what diffusers'
 * {@code fuse_lora} and kohya's {@code merge_lora.py} compute. Convolutions are merged as
 * {@code up.reshape(out, r) @ down.reshape(r, in*kh*kw)} (the up projection must be 1x1).
 * The product is accumulated in double and the sum rounded to float32 once.
 *
 * <p>Key formats read (the component prefix picks the {@link Component}):
 * <ul>
 *   <li>diffusers / PEFT: {@code unet.<module>.lora_A.weight} / {@code lora_B.weight},
 *       {@code text_encoder.<module>...}; older diffusers {@code <module>.lora.down.weight} /
 *       {@code lora.up.weight}, {@code <module>.lora_linear_layer.down.weight}, and the
 *       attention-processor names {@code ...attn1.processor.to_q_lora.down.weight} (also
 *       without a {@code unet.} prefix, and PEFT's {@code base_model.model.} prefix);</li>
 *   <li>kohya: {@code lora_unet_<module path with '.' as '_'>.lora_down.weight} /
 *       {@code .lora_up.weight} / {@code .alpha}, text encoder {@code lora_te_} or
 *       {@code lora_te1_}; the underscored path is matched against the base weights' names.
 *       UNet paths with the original SD block names ({@code input_blocks_4_1_proj_in},
 *       {@code middle_block_1_...}, {@code output_blocks_...}) are mapped to diffusers names
 *       first, with the block layout read off the base weights (see {@link LdmNames}). This is the format of
 *       {@code latent-consistency/lcm-lora-sdv1-5}.</li>
 * </ul>
 * {@code <module>.alpha} tensors give alpha per module; without one, a diffusers
 * {@code lora_adapter_metadata} entry in the safetensors metadata ({@code <component>.lora_alpha},
 * {@code alpha_pattern}, {@code use_rslora}) is used, and otherwise alpha is the rank.
 *
 * <p>A key of the component being merged that matches no base weight, an up/down pair whose
 * shapes do not fit the weight, or a LoRA variant that is not a plain low-rank pair (DoRA,
 * LoHa, LoKr, full-weight diffs) is an error naming the LoRA file and the key. Keys of other
 * components are left alone here; {@link #requireEffect} and {@link #unusedKeys} tell the
 * caller, after merging every component it converts, whether a LoRA was used at all.
 */
public final class LoraMerge implements WeightSource {

    /** The model a merge applies to; picks which keys of a LoRA file are read. */
    public enum Component {
        UNET("UNet"),
        TEXT_ENCODER("text encoder"),
        /** SDXL's second text encoder (OpenCLIP bigG): kohya {@code lora_te2_}, diffusers {@code text_encoder_2.} keys. */
        TEXT_ENCODER_2("second text encoder");

        private final String label;

        Component(String label) {
            this.label = label;
        }

        @Override
        public String toString() {
            return label;
        }
    }

    /** A LoRA file and the strength it is merged with ({@code scale}, 1.0 for full strength). */
    public record LoraFile(Path file, double scale) {
        public LoraFile {
            Objects.requireNonNull(file, "file");
            if (!Double.isFinite(scale)) throw new IllegalArgumentException("LoRA scale must be finite: " + scale);
        }

        public LoraFile(Path file) {
            this(file, 1.0);
        }

        /**
         * Parses {@code FILE} or {@code FILE:SCALE}. The text after the last ':' is a scale only
         * when it is a number, so {@code C:\loras\x.safetensors} is a file.
         */
        public static LoraFile parse(String spec) {
            if (spec == null || spec.isBlank()) throw new IllegalArgumentException("empty LoRA spec (expected FILE[:SCALE])");
            String s = spec.strip();
            int colon = s.lastIndexOf(':');
            if (colon > 0) {
                String tail = s.substring(colon + 1).strip();
                if (tail.isEmpty()) {
                    throw new IllegalArgumentException("LoRA spec '" + spec + "' ends with ':' but gives no scale (expected FILE[:SCALE])");
                }
                Double scale = parseNumber(tail);
                if (scale != null) {
                    if (!Double.isFinite(scale)) throw new IllegalArgumentException("LoRA scale must be finite in '" + spec + "'");
                    return new LoraFile(Path.of(s.substring(0, colon)), scale);
                }
            }
            return new LoraFile(Path.of(s), 1.0);
        }

        private static Double parseNumber(String t) {
            if (!t.matches("[+-]?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?")) return null;
            return Double.parseDouble(t);
        }

        @Override
        public String toString() {
            return file + (scale == 1.0 ? "" : ":" + scale);
        }
    }

    /**
     * What one LoRA file did to this merge's component: the base weights it changed, the keys
     * it used for them, and its keys that belong to other components (not looked at here).
     */
    public record Report(LoraFile lora, Component component, List<String> mergedWeights, Set<String> usedKeys,
                         List<String> otherComponentKeys, Set<String> allKeys) {
        public int mergedCount() {
            return mergedWeights.size();
        }
    }

    /** One LoRA's low-rank update of one base weight. */
    private record Patch(SafeTensors file, String downKey, String upKey, int rank, double factor) {}

    private final WeightSource base;
    private final Component component;
    private final List<SafeTensors> files;
    private final Map<String, List<Patch>> patches;
    private final List<Report> reports;

    private LoraMerge(WeightSource base, Component component, List<SafeTensors> files, Map<String, List<Patch>> patches,
                      List<Report> reports) {
        this.base = base;
        this.component = component;
        this.files = files;
        this.patches = patches;
        this.reports = reports;
    }

    /**
     * Wraps {@code base} (the weights of {@code component}) with the given LoRAs merged in. The
     * LoRA files are opened and every key of this component is resolved and shape-checked now;
     * the values are read and merged when a weight is read. Closing the result closes the LoRA
     * files and {@code base}; when this method fails, {@code base} is left open for the caller.
     */
    public static LoraMerge apply(WeightSource base, Component component, List<LoraFile> loras) throws IOException {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(component, "component");
        List<SafeTensors> opened = new ArrayList<>();
        try {
            Resolver resolver = new Resolver(base, component);
            Map<String, List<Patch>> patches = new LinkedHashMap<>();
            List<Report> reports = new ArrayList<>();
            for (LoraFile lora : loras) {
                SafeTensors file = SafeTensors.open(lora.file());
                opened.add(file);
                reports.add(plan(lora, file, component, resolver, patches));
            }
            return new LoraMerge(base, component, List.copyOf(opened), patches, List.copyOf(reports));
        } catch (IOException | RuntimeException e) {
            for (SafeTensors f : opened) {
                try {
                    f.close();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    public Component component() {
        return component;
    }

    /** One report per LoRA file, in the order given to {@link #apply}. */
    public List<Report> reports() {
        return reports;
    }

    /** The base weights this merge changes. */
    public Set<String> mergedWeights() {
        return patches.keySet();
    }

    // ---------------------------------------------------------------------------------------
    // WeightSource

    @Override
    public Set<String> names() {
        return base.names();
    }

    @Override
    public boolean has(String name) {
        return base.has(name);
    }

    @Override
    public int[] shape(String name) throws IOException {
        return base.shape(name);
    }

    @Override
    public float[] floats(String name) throws IOException {
        float[] w = base.floats(name);
        List<Patch> ps = patches.get(name);
        if (ps == null) return w;
        double[] delta = new double[w.length];
        for (Patch p : ps) accumulate(delta, p, w.length);
        for (int i = 0; i < w.length; i++) w[i] = (float) (w[i] + delta[i]);
        return w;
    }

    @Override
    public String origin() {
        if (files.isEmpty()) return base.origin();
        StringBuilder sb = new StringBuilder(base.origin()).append(" with LoRA ");
        for (int i = 0; i < reports.size(); i++) {
            if (i > 0) sb.append(", ");
            sb.append(reports.get(i).lora());
        }
        return sb.toString();
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (SafeTensors f : files) {
            try {
                f.close();
            } catch (IOException e) {
                if (first == null) first = e; else first.addSuppressed(e);
            }
        }
        try {
            base.close();
        } catch (IOException e) {
            if (first == null) first = e; else first.addSuppressed(e);
        }
        if (first != null) throw first;
    }

    // ---------------------------------------------------------------------------------------
    // Reporting across components

    /**
     * Keys of each LoRA file that none of the given merges used (for example text encoder keys
     * when only the UNet is converted), by file. Files whose
     * every key was used are left out.
     */
    public static Map<Path, List<String>> unusedKeys(Collection<LoraMerge> merges) {
        Map<Path, Set<String>> all = new LinkedHashMap<>();
        Map<Path, Set<String>> used = new HashMap<>();
        for (LoraMerge m : merges) {
            for (Report r : m.reports) {
                Path p = key(r.lora());
                all.computeIfAbsent(p, k -> new LinkedHashSet<>()).addAll(r.allKeys());
                used.computeIfAbsent(p, k -> new HashSet<>()).addAll(r.usedKeys());
            }
        }
        Map<Path, List<String>> out = new LinkedHashMap<>();
        all.forEach((p, keys) -> {
            List<String> left = keys.stream().filter(k -> !used.get(p).contains(k)).sorted().toList();
            if (!left.isEmpty()) out.put(p, left);
        });
        return out;
    }

    /**
     * Fails when a LoRA file changed no weight in any of the given merges (the merges of every
     * component being converted): such a file is for another model or another format.
     */
    public static void requireEffect(Collection<LoraMerge> merges) throws IOException {
        Map<Path, Integer> merged = new LinkedHashMap<>();
        Map<Path, Report> any = new HashMap<>();
        Set<Component> components = new LinkedHashSet<>();
        for (LoraMerge m : merges) {
            components.add(m.component);
            for (Report r : m.reports) {
                merged.merge(key(r.lora()), r.mergedCount(), Integer::sum);
                any.putIfAbsent(key(r.lora()), r);
            }
        }
        Map<Path, List<String>> unused = unusedKeys(merges);
        for (var e : merged.entrySet()) {
            if (e.getValue() > 0) continue;
            List<String> keys = unused.getOrDefault(e.getKey(), List.of());
            String sample = keys.isEmpty() ? "it has no tensors"
                    : "its " + keys.size() + " keys look like " + keys.subList(0, Math.min(3, keys.size()));
            throw new InputFileException(any.get(e.getKey()).lora().file() + ": the LoRA changes no weight of the "
                    + joinComponents(components) + " (" + sample + "); it is for another model or component");
        }
    }

    /** One line per LoRA file: how many weights it changed in each component, and unused keys. */
    public static String summary(Collection<LoraMerge> merges) {
        Map<Path, Map<Component, Integer>> counts = new LinkedHashMap<>();
        Map<Path, LoraFile> files = new HashMap<>();
        for (LoraMerge m : merges) {
            for (Report r : m.reports) {
                counts.computeIfAbsent(key(r.lora()), k -> new TreeMap<>()).merge(m.component, r.mergedCount(), Integer::sum);
                files.putIfAbsent(key(r.lora()), r.lora());
            }
        }
        Map<Path, List<String>> unused = unusedKeys(merges);
        StringBuilder sb = new StringBuilder();
        counts.forEach((p, byComponent) -> {
            if (!sb.isEmpty()) sb.append('\n');
            LoraFile lora = files.get(p);
            sb.append(lora.file()).append(" (scale ").append(lora.scale()).append("): ");
            StringBuilder parts = new StringBuilder();
            byComponent.forEach((c, n) -> {
                if (!parts.isEmpty()) parts.append(", ");
                parts.append(n).append(' ').append(c).append(n == 1 ? " weight" : " weights");
            });
            sb.append(parts);
            List<String> left = unused.get(p);
            if (left != null) sb.append("; ").append(left.size()).append(" keys unused, e.g. ").append(left.getFirst());
        });
        return sb.toString();
    }

    private static Path key(LoraFile lora) {
        return lora.file().toAbsolutePath().normalize();
    }

    private static String joinComponents(Set<Component> cs) {
        List<String> names = cs.stream().map(Component::toString).toList();
        return names.isEmpty() ? "model" : String.join(" or ", names);
    }

    // ---------------------------------------------------------------------------------------
    // Planning: keys -> base weights

    private enum Role { DOWN, UP, ALPHA }

    /** Which component a key prefix names; OTHER for components this class never merges. */
    private enum Target { UNET, TEXT_ENCODER, TEXT_ENCODER_2, OTHER }

    private static final String[][] ROLE_SUFFIXES = {
            {".lora_down.weight", "DOWN"}, {".lora_up.weight", "UP"},
            {".lora_A.weight", "DOWN"}, {".lora_B.weight", "UP"},
            {".lora.down.weight", "DOWN"}, {".lora.up.weight", "UP"},
            {".lora_linear_layer.down.weight", "DOWN"}, {".lora_linear_layer.up.weight", "UP"},
            {"_lora.down.weight", "DOWN"}, {"_lora.up.weight", "UP"},
            {".alpha", "ALPHA"},
    };

    /** Name endings of LoRA variants that are not a plain up/down pair. */
    private static final String[][] UNSUPPORTED_SUFFIXES = {
            {".dora_scale", "DoRA"}, {".lora_magnitude_vector", "DoRA"}, {".lora_magnitude_vector.weight", "DoRA"},
            {".lora_mid.weight", "LoCon with a Tucker mid weight (LyCORIS)"},
            {".diff", "a full weight difference"}, {".diff_b", "a full bias difference"},
            {".lora_A.bias", "a LoRA bias"}, {".lora_B.bias", "a LoRA bias"},
            {".lora_down.bias", "a LoRA bias"}, {".lora_up.bias", "a LoRA bias"},
    };

    /** Name parts of LyCORIS variants. */
    private static final String[][] UNSUPPORTED_PARTS = {{".hada_", "LoHa (LyCORIS)"}, {".lokr_", "LoKr (LyCORIS)"}};

    /** A key split into the module it addresses and its role. */
    private record Parsed(String key, String stem, Role role, Target target, boolean kohya) {}

    private static Parsed parse(Path file, String key) throws IOException {
        String variant = null;
        for (String[] u : UNSUPPORTED_SUFFIXES) if (key.endsWith(u[0])) variant = u[1];
        for (String[] u : UNSUPPORTED_PARTS) if (key.contains(u[0])) variant = u[1];
        if (variant != null) {
            throw new InputFileException(file + ": key '" + key + "' is " + variant + ", which is not supported (only plain "
                    + "LoRA up/down pairs are merged)");
        }
        String stem = null;
        Role role = null;
        for (String[] s : ROLE_SUFFIXES) {
            if (key.endsWith(s[0])) {
                stem = key.substring(0, key.length() - s[0].length());
                role = Role.valueOf(s[1]);
                break;
            }
        }
        if (stem == null || stem.isEmpty()) {
            throw new InputFileException(file + ": key '" + key + "' is not a LoRA tensor (expected a name ending in "
                    + ".lora_down.weight / .lora_up.weight / .alpha (kohya), .lora_A.weight / .lora_B.weight (PEFT) or "
                    + ".lora.down.weight / .lora.up.weight (diffusers))");
        }
        // Component prefixes. (Old attention-processor keys, ...attn1.processor.to_q_lora.down.weight,
        // leave the stem ...attn1.processor.to_q, which resolveDotted maps to ...attn1.to_q.)
        if (stem.startsWith("lora_unet_")) return new Parsed(key, stem.substring(10), role, Target.UNET, true);
        if (stem.startsWith("lora_te1_")) return new Parsed(key, stem.substring(9), role, Target.TEXT_ENCODER, true);
        if (stem.startsWith("lora_te_")) return new Parsed(key, stem.substring(8), role, Target.TEXT_ENCODER, true);
        if (stem.startsWith("lora_te2_")) return new Parsed(key, stem.substring(9), role, Target.TEXT_ENCODER_2, true);
        if (stem.startsWith("lora_te3_")) return new Parsed(key, stem, role, Target.OTHER, true);
        if (stem.startsWith("diffusion_model.")) {
            // ComfyUI / original-SD dotted UNet names: resolved like kohya's underscored ones.
            return new Parsed(key, stem.substring("diffusion_model.".length()).replace('.', '_'), role, Target.UNET, true);
        }
        if (stem.startsWith("base_model.model.")) stem = stem.substring("base_model.model.".length());
        if (stem.startsWith("unet.")) return new Parsed(key, stem.substring(5), role, Target.UNET, false);
        if (stem.startsWith("text_encoder.")) return new Parsed(key, stem.substring(13), role, Target.TEXT_ENCODER, false);
        if (stem.startsWith("text_encoder_2.")) return new Parsed(key, stem.substring(15), role, Target.TEXT_ENCODER_2, false);
        if (stem.startsWith("text_encoder_3.") || stem.startsWith("transformer.")
                || stem.startsWith("prior.") || stem.startsWith("lora_prior_")) {
            return new Parsed(key, stem, role, Target.OTHER, false);
        }
        // No component prefix (a model's own save_attn_procs / save_lora_adapter): by module name.
        Target t = stem.startsWith("text_model.") ? Target.TEXT_ENCODER : Target.UNET;
        return new Parsed(key, stem, role, t, false);
    }

    /** One module's entries in one LoRA file. */
    private static final class Group {
        String down;
        String up;
        String alpha;
    }

    private static Report plan(LoraFile lora, SafeTensors file, Component component, Resolver resolver,
                               Map<String, List<Patch>> patches) throws IOException {
        Path path = lora.file();
        Target mine = switch (component) {
            case UNET -> Target.UNET;
            case TEXT_ENCODER -> Target.TEXT_ENCODER;
            case TEXT_ENCODER_2 -> Target.TEXT_ENCODER_2;
        };
        Map<String, Group> groups = new LinkedHashMap<>();
        List<String> others = new ArrayList<>();
        Set<String> used = new LinkedHashSet<>();
        for (String key : file.names()) {
            Parsed p = parse(path, key);
            if (p.target() != mine) {
                others.add(key);
                continue;
            }
            String weight = resolver.resolve(path, p);
            Group g = groups.computeIfAbsent(weight, w -> new Group());
            String previous = switch (p.role()) {
                case DOWN -> g.down;
                case UP -> g.up;
                case ALPHA -> g.alpha;
            };
            if (previous != null) {
                throw new InputFileException(path + ": keys '" + previous + "' and '" + key + "' both address the "
                        + p.role().name().toLowerCase(Locale.ROOT) + " of " + component + " weight '" + weight + "'");
            }
            switch (p.role()) {
                case DOWN -> g.down = key;
                case UP -> g.up = key;
                case ALPHA -> g.alpha = key;
            }
            used.add(key);
        }
        PeftConfig peft = PeftConfig.read(path, file, component);
        List<String> merged = new ArrayList<>();
        for (var e : groups.entrySet()) {
            String weight = e.getKey();
            Group g = e.getValue();
            if (g.down == null || g.up == null) {
                String have = g.down != null ? g.down : g.up != null ? g.up : g.alpha;
                throw new InputFileException(path + ": key '" + have + "' has no matching " + (g.down == null ? "down (A)" : "up (B)")
                        + " weight for " + component + " weight '" + weight + "'");
            }
            int rank = checkShapes(path, g, weight, resolver.base.shape(weight), file.shape(g.down), file.shape(g.up));
            double alpha;
            double divisor = rank;
            if (g.alpha != null) {
                alpha = scalar(path, file, g.alpha);
            } else {
                alpha = peft.alpha(weight.substring(0, weight.length() - ".weight".length()), rank);
                if (peft.rslora) divisor = Math.sqrt(rank);
            }
            double factor = lora.scale() * alpha / divisor;
            patches.computeIfAbsent(weight, w -> new ArrayList<>()).add(new Patch(file, g.down, g.up, rank, factor));
            merged.add(weight);
        }
        return new Report(lora, component, List.copyOf(merged), Set.copyOf(used), List.copyOf(others),
                Set.copyOf(file.names()));
    }

    /** Checks up [out, r, 1...] and down [r, in, k...] against the weight [out, in, k...]; returns r. */
    private static int checkShapes(Path path, Group g, String weight, int[] w, int[] down, int[] up) throws IOException {
        if (w.length < 2) {
            throw new InputFileException(path + ": key '" + g.down + "' addresses " + "'" + weight + "' of shape "
                    + Arrays.toString(w) + ", which is not a Linear or Conv weight");
        }
        if (down.length < 2) {
            throw new InputFileException(path + ": key '" + g.down + "': expected a down (A) weight of shape [rank, "
                    + join(Arrays.copyOfRange(w, 1, w.length)) + "] for '" + weight + "' " + Arrays.toString(w)
                    + ", found " + Arrays.toString(down));
        }
        int rank = down[0];
        int[] expectUp = new int[up.length >= 2 ? up.length : 2];
        Arrays.fill(expectUp, 1);
        expectUp[0] = w[0];
        expectUp[1] = rank;
        if (!Arrays.equals(up, expectUp)) {
            throw new InputFileException(path + ": key '" + g.up + "': expected an up (B) weight of shape "
                    + Arrays.toString(expectUp) + " for '" + weight + "' " + Arrays.toString(w) + " with rank " + rank
                    + " (from '" + g.down + "' " + Arrays.toString(down) + "), found " + Arrays.toString(up));
        }
        int[] inW = trimOnes(Arrays.copyOfRange(w, 1, w.length));
        int[] inD = trimOnes(Arrays.copyOfRange(down, 1, down.length));
        if (!Arrays.equals(inW, inD)) {
            int[] expectDown = w.clone();
            expectDown[0] = rank;
            throw new InputFileException(path + ": key '" + g.down + "': expected a down (A) weight of shape "
                    + Arrays.toString(expectDown) + " for '" + weight + "' " + Arrays.toString(w) + ", found "
                    + Arrays.toString(down));
        }
        if (rank <= 0) throw new InputFileException(path + ": key '" + g.down + "' has rank 0");
        return rank;
    }

    private static int[] trimOnes(int[] dims) {
        int n = dims.length;
        while (n > 1 && dims[n - 1] == 1) n--;
        return Arrays.copyOf(dims, n);
    }

    private static String join(int[] dims) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < dims.length; i++) {
            if (i > 0) sb.append(", ");
            sb.append(dims[i]);
        }
        return sb.toString();
    }

    /** A one-element tensor's value, for float or integer dtypes (diffusers writes alpha as int64). */
    private static double scalar(Path path, SafeTensors file, String key) throws IOException {
        SafeTensors.Entry e = file.entry(key);
        if (e.numel() != 1) {
            throw new InputFileException(path + ": key '" + key + "': expected a single alpha value (shape []), found shape "
                    + Arrays.toString(e.shape()));
        }
        if (e.dtype().isFloat()) return file.floats(key)[0];
        ByteBuffer b = file.raw(key);
        DType t = e.dtype();
        double v = switch (t) {
            case I64 -> b.getLong(0);
            case I32 -> b.getInt(0);
            case I8 -> b.get(0);
            case U8 -> b.get(0) & 0xff;
            default -> throw new InputFileException(path + ": key '" + key + "' has dtype " + t + ", not a number");
        };
        return v;
    }

    // ---------------------------------------------------------------------------------------
    // Resolving module names against the base weights

    private static final class Resolver {
        final WeightSource base;
        final Component component;
        private Map<String, String> underscored;   // underscored module path -> weight name
        private Set<String> ambiguous;
        private Optional<LdmNames> ldm;

        Resolver(WeightSource base, Component component) {
            this.base = base;
            this.component = component;
        }

        /** The base weight name ({@code <module>.weight}) a parsed key addresses. */
        String resolve(Path file, Parsed p) throws IOException {
            String found = p.kohya() ? resolveKohya(p.stem()) : resolveDotted(p.stem());
            if (found == null) {
                String hint = "";
                if (p.kohya() && component == Component.UNET && LdmNames.isOriginalUnetModule(p.stem())) {
                    String guess = unetModuleOfOriginal(p.stem());
                    hint = guess == null ? " (original-SD block name that does not fit this UNet's layout)"
                            : " (original-SD block name, read as diffusers '" + guess + "')";
                }
                throw new InputFileException(file + ": key '" + p.key() + "' matches no weight of the " + component + " ("
                        + base.origin() + ")" + hint);
            }
            return found;
        }

        private String resolveDotted(String stem) {
            String m = stem.replace(".processor.", ".");
            if (m.endsWith(".processor")) m = m.substring(0, m.length() - ".processor".length());
            List<String> candidates = new ArrayList<>();
            candidates.add(m);
            if (component == Component.UNET) {
                if (m.endsWith(".to_out")) candidates.add(m + ".0");
            } else {
                // Old diffusers text-encoder names: self_attn.to_q -> self_attn.q_proj.
                String t = m.replaceAll("\\.to_(q|k|v)$", ".$1_proj").replaceAll("\\.to_out$", ".out_proj");
                if (!t.equals(m)) candidates.add(t);
                for (String c : List.copyOf(candidates)) {
                    if (!c.startsWith("text_model.")) candidates.add("text_model." + c);
                }
            }
            for (String c : candidates) {
                if (base.has(c + ".weight")) return c + ".weight";
            }
            return null;
        }

        private String resolveKohya(String path) {
            Map<String, String> map = underscoredMap();
            String w = ambiguous.contains(path) ? null : map.get(path);
            if (w != null) return w;
            if (component == Component.UNET && LdmNames.isOriginalUnetModule(path)) {
                String d = unetModuleOfOriginal(path);
                if (d != null && !ambiguous.contains(d)) return map.get(d);
            }
            if (component != Component.UNET && !path.startsWith("text_model_")) {
                String t = "text_model_" + path;
                if (!ambiguous.contains(t)) return map.get(t);
            }
            return null;
        }

        /**
         * The diffusers module path (underscored) of an original-SD one, numbered by the base
         * UNet's own block layout; null when it does not fit, or the base has no down blocks
         * to read a layout from.
         */
        private String unetModuleOfOriginal(String path) {
            if (ldm == null) {
                try {
                    ldm = Optional.of(new LdmNames(UnetLayout.fromWeightNames(base.names())));
                } catch (IllegalArgumentException notAUnet) {
                    ldm = Optional.empty();
                }
            }
            return ldm.map(names -> names.unetModule(path)).orElse(null);
        }

        private Map<String, String> underscoredMap() {
            if (underscored == null) {
                underscored = new HashMap<>();
                ambiguous = new HashSet<>();
                for (String name : base.names()) {
                    if (!name.endsWith(".weight")) continue;
                    String u = name.substring(0, name.length() - ".weight".length()).replace('.', '_');
                    if (underscored.putIfAbsent(u, name) != null) ambiguous.add(u);
                }
            }
            return underscored;
        }
    }

    // ---------------------------------------------------------------------------------------
    // diffusers / PEFT adapter metadata

    /** The LoRA config diffusers stores in the safetensors metadata as {@code lora_adapter_metadata}. */
    private static final class PeftConfig {
        static final PeftConfig NONE = new PeftConfig(null, Map.of(), false);

        final Double loraAlpha;
        final Map<String, Double> alphaPattern;
        final boolean rslora;

        PeftConfig(Double loraAlpha, Map<String, Double> alphaPattern, boolean rslora) {
            this.loraAlpha = loraAlpha;
            this.alphaPattern = alphaPattern;
            this.rslora = rslora;
        }

        double alpha(String module, int rank) {
            for (var e : alphaPattern.entrySet()) {
                if (matches(e.getKey(), module)) return e.getValue();
            }
            return loraAlpha != null ? loraAlpha : rank;
        }

        private static boolean matches(String pattern, String module) {
            if (module.equals(pattern) || module.endsWith("." + pattern)) return true;
            try {
                return Pattern.compile("(.*\\.)?(?:" + pattern + ")").matcher(module).matches();
            } catch (PatternSyntaxException e) {
                return false;
            }
        }

        static PeftConfig read(Path path, SafeTensors file, Component component) throws IOException {
            String raw = file.metadata().get("lora_adapter_metadata");
            if (raw == null || raw.isBlank()) return NONE;
            JsonNode root;
            try {
                root = new ObjectMapper().readTree(raw);
            } catch (IOException e) {
                throw new InputFileException(path + ": malformed lora_adapter_metadata (not JSON): " + e.getMessage(), e);
            }
            if (root == null || !root.isObject()) return NONE;
            String prefix = switch (component) {
                case UNET -> "unet.";
                case TEXT_ENCODER -> "text_encoder.";
                case TEXT_ENCODER_2 -> "text_encoder_2.";
            };
            // Pipeline files prefix each entry with the component; a model's own save has none.
            boolean prefixed = false;
            for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                if (f.startsWith("unet.") || f.startsWith("text_encoder.") || f.startsWith("text_encoder_2.")
                        || f.startsWith("transformer.")) {
                    prefixed = true;
                }
            }
            String p = prefixed ? prefix : "";
            JsonNode dora = root.get(p + "use_dora");
            if (dora != null && dora.asBoolean(false)) {
                throw new InputFileException(path + ": the LoRA is DoRA (use_dora in lora_adapter_metadata), which is not supported");
            }
            JsonNode alpha = root.get(p + "lora_alpha");
            Map<String, Double> patterns = new LinkedHashMap<>();
            JsonNode ap = root.get(p + "alpha_pattern");
            if (ap != null && ap.isObject()) {
                for (var e : ap.properties()) patterns.put(e.getKey(), e.getValue().asDouble());
            }
            JsonNode rs = root.get(p + "use_rslora");
            return new PeftConfig(alpha != null && alpha.isNumber() ? alpha.asDouble() : null, patterns,
                    rs != null && rs.asBoolean(false));
        }
    }

    // ---------------------------------------------------------------------------------------
    // Arithmetic

    /** Parallelise products above this many multiply-adds. */
    private static final long PARALLEL_WORK = 1L << 20;
    /** Tile sizes: a ROWS x COLS tile of the product reuses a rank x COLS slice of down from cache. */
    private static final int TILE_ROWS = 64;
    private static final int TILE_COLS = 512;

    /**
     * delta += factor * (up.reshape(out, r) @ down.reshape(r, cols)), in double, in tiles of
     * the output that are computed in parallel (each tile writes its own part of delta).
     */
    private static void accumulate(double[] delta, Patch p, int numel) throws IOException {
        float[] upF = p.file().floats(p.upKey());
        float[] downF = p.file().floats(p.downKey());
        int r = p.rank();
        int out = upF.length / r;
        int cols = numel / out;
        if ((long) out * r != upF.length || (long) r * cols != downF.length || (long) out * cols != numel) {
            throw new InputFileException(p.file().origin() + ": LoRA '" + p.downKey() + "' / '" + p.upKey() + "' sizes "
                    + downF.length + " / " + upF.length + " do not fit a weight of " + numel + " values");
        }
        double factor = p.factor();
        double[] up = new double[upF.length];
        for (int i = 0; i < up.length; i++) up[i] = factor * upF[i];
        double[] down = new double[downF.length];
        for (int i = 0; i < down.length; i++) down[i] = downF[i];
        int rowTiles = (out + TILE_ROWS - 1) / TILE_ROWS;
        int colTiles = (cols + TILE_COLS - 1) / TILE_COLS;
        IntStream tiles = IntStream.range(0, rowTiles * colTiles);
        if ((long) out * r * cols >= PARALLEL_WORK) tiles = tiles.parallel();
        tiles.forEach(t -> {
            int o0 = (t / colTiles) * TILE_ROWS;
            int o1 = Math.min(out, o0 + TILE_ROWS);
            int j0 = (t % colTiles) * TILE_COLS;
            int j1 = Math.min(cols, j0 + TILE_COLS);
            for (int o = o0; o < o1; o++) {
                int row = o * cols;
                for (int k = 0; k < r; k++) {
                    double u = up[o * r + k];
                    if (u == 0) continue;
                    int off = k * cols;
                    for (int j = j0; j < j1; j++) delta[row + j] += u * down[off + j];
                }
            }
        });
    }
}
