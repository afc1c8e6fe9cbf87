package io.streamdiffusion4j.hub;

import io.streamdiffusion4j.hub.FileSelector.Layout;
import io.streamdiffusion4j.hub.FileSelector.Selection;
import io.streamdiffusion4j.hub.HubException.Reason;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which files of a repository the pipeline needs, by kind of repository. Only these are
 * downloaded: a Stable Diffusion repository also holds PyTorch pickles, single-file checkpoints,
 * Flax weights and precision variants that would multiply the download.
 *
 * <p>The weights chosen for a diffusers component follow the order in which
 * {@link io.streamdiffusion4j.weights.WeightFiles} opens a folder (a shard index, then a single
 * file, full precision before {@code .fp16}; otherwise the folder's only {@code .safetensors}), so
 * what is downloaded is what the converter reads. A cache that already has the {@code .fp16}
 * files (as {@code from_pretrained(..., variant="fp16")} leaves it) is complete as it is.
 */
public final class RepoLayouts {
    private static final List<String> INDEXES = List.of("diffusion_pytorch_model.safetensors.index.json",
            "model.safetensors.index.json", "diffusion_pytorch_model.fp16.safetensors.index.json",
            "model.fp16.safetensors.index.json");
    private static final List<String> SINGLES = List.of("diffusion_pytorch_model.safetensors", "model.safetensors",
            "diffusion_pytorch_model.fp16.safetensors", "model.fp16.safetensors");
    /** diffusers writes {@code name-00001-of-00002.fp16.safetensors}, transformers {@code name.fp16-00001-of-00002.safetensors}. */
    private static final Pattern SHARD = Pattern.compile("(diffusion_pytorch_model|model)(\\.fp16)?-(\\d+)-of-(\\d+)(\\.fp16)?\\.safetensors");
    private static final List<String> ONNX_COMPONENTS = List.of("text_encoder", "unet", "vae_encoder", "vae_decoder",
            "taesd/vae_encoder", "taesd/vae_decoder");
    static final String LORA_FILE = "pytorch_lora_weights.safetensors";
    private static final String SDXL_TEXT_ENCODER_2 = io.streamdiffusion4j.convert.SdxlTextEncoders.TEXT_ENCODER_2;
    private static final String SDXL_TOKENIZER_2 = io.streamdiffusion4j.convert.SdxlTextEncoders.TOKENIZER_2;

    private RepoLayouts() {}

    /** A Stable Diffusion model: an ONNX (Optimum) repository if it has {@code unet/model.onnx}, else diffusers. */
    public static FileSelector model() {
        return (ref, files) -> {
            if (files.contains("unet/model.onnx")) return onnx(ref, files);
            if (files.contains("model_index.json") || files.contains("unet/config.json")) return diffusers(ref, files);
            throw new HubException(Reason.MISSING_COMPONENTS, ref + " is not a Stable Diffusion repository in the"
                    + " diffusers layout (model_index.json, unet/config.json) or the ONNX one (unet/model.onnx)"
                    + singleFileHint(ref, files) + "; it has: " + sample(files));
        };
    }

    /** A TAESD: ONNX {@code vae_encoder/ + vae_decoder/}, or a diffusers AutoencoderTiny in the root. */
    public static FileSelector taesd() {
        return (ref, files) -> {
            if (files.contains("vae_encoder/model.onnx") || files.contains("vae_decoder/model.onnx")) {
                List<String> out = new ArrayList<>();
                List<String> missing = new ArrayList<>();
                for (String c : List.of("vae_encoder", "vae_decoder")) onnxComponent(c, files, out, missing, true);
                requireNone(ref, missing, "TAESD in ONNX layout");
                return new Selection(Layout.TAESD_ONNX, out);
            }
            List<String> missing = new ArrayList<>();
            List<String> out = new ArrayList<>();
            require("config.json", files, out, missing);
            weights("", files, out, missing);
            requireNone(ref, missing, "TAESD (a diffusers AutoencoderTiny: config.json and safetensors weights in the"
                    + " repository root, or ONNX vae_encoder/ and vae_decoder/)");
            return new Selection(Layout.TAESD_DIFFUSERS, out);
        };
    }

    /**
     * A ControlNet: a diffusers ControlNetModel in the repository root (config.json and its
     * safetensors weights, as lllyasviel/sd-controlnet-canny has them), or one converted to ONNX
     * ({@code model.onnx}, its external data and config.json in the root).
     */
    public static FileSelector controlNet() {
        return (ref, files) -> {
            List<String> out = new ArrayList<>();
            List<String> missing = new ArrayList<>();
            if (files.contains("model.onnx")) {
                out.add("model.onnx");
                require("config.json", files, out, missing);
                for (String f : new TreeSet<>(files)) {
                    String name = childOf("", f);
                    if (name != null && (name.endsWith(".onnx_data") || name.endsWith(".onnx.data") || name.endsWith(".pb"))) out.add(f);
                }
                requireNone(ref, missing, "ControlNet in ONNX layout (model.onnx and config.json)");
                return new Selection(Layout.CONTROLNET_ONNX, out);
            }
            require("config.json", files, out, missing);
            weights("", files, out, missing);
            requireNone(ref, missing, "ControlNet (a diffusers ControlNetModel: config.json and safetensors weights in the"
                    + " repository root, or model.onnx and config.json)");
            return new Selection(Layout.CONTROLNET_DIFFUSERS, out);
        };
    }

    /** The adapter weights taken when a reference names none: this project's layout, then h94/IP-Adapter's SD 1.5 adapter. */
    static final List<String> IP_ADAPTER_DEFAULTS = List.of(io.streamdiffusion4j.convert.IpAdapterFolder.WEIGHTS,
            "models/ip-adapter_sd15.safetensors");
    private static final String IMAGE_ENCODER = io.streamdiffusion4j.convert.IpAdapterFolder.IMAGE_ENCODER;

    /**
     * An IP-Adapter: the weights {@code ref} names ({@code h94/IP-Adapter/models/ip-adapter_sd15_light.safetensors}),
     * else the first of {@link #IP_ADAPTER_DEFAULTS} present, else the only {@code ip-adapter*.safetensors} of the
     * root or {@code models/}; and the CLIP vision encoder in the {@code image_encoder/} folder beside the weights
     * (its config.json and safetensors weights, not the PyTorch pickle h94 also keeps there). The first file
     * is the adapter's weights.
     */
    public static FileSelector ipAdapter() {
        return (ref, files) -> {
            String weights = ref.file() != null ? ref.file() : defaultIpAdapter(ref, files);
            if (!files.contains(weights)) {
                throw new HubException(Reason.MISSING_COMPONENTS, ref.repository() + " has no file '" + weights + "'"
                        + ipAdapterHint(ref, files));
            }
            if (!weights.endsWith(".safetensors")) {
                throw new HubException(Reason.MISSING_COMPONENTS, ref + ": IP-Adapter weights must be a .safetensors file (a"
                        + " .bin is a PyTorch pickle, which is not read because loading it can run code)" + ipAdapterHint(ref, files));
            }
            int slash = weights.lastIndexOf('/');
            String encoder = (slash < 0 ? "" : weights.substring(0, slash + 1)) + IMAGE_ENCODER + "/";
            List<String> out = new ArrayList<>(List.of(weights));
            List<String> missing = new ArrayList<>();
            require(encoder + "config.json", files, out, missing);
            weights(encoder, files, out, missing);
            requireNone(ref, missing, "IP-Adapter (" + weights + " and the CLIP vision encoder in " + encoder + " beside it)");
            return new Selection(Layout.IP_ADAPTER, out);
        };
    }

    /** The adapter weights of a snapshot fetched with {@link #ipAdapter()}: the one selected file outside image_encoder/. */
    public static String ipAdapterWeights(Snapshot snap) {
        for (String f : snap.files().keySet()) {
            if (!f.equals(IMAGE_ENCODER) && !f.startsWith(IMAGE_ENCODER + "/") && !f.contains("/" + IMAGE_ENCODER + "/")) return f;
        }
        throw new IllegalStateException(snap.ref() + ": the snapshot holds no IP-Adapter weights");
    }

    private static String defaultIpAdapter(RepoRef ref, Set<String> files) throws HubException {
        for (String d : IP_ADAPTER_DEFAULTS) if (files.contains(d)) return d;
        List<String> found = ipAdapterFiles(files);
        if (found.size() == 1) return found.getFirst();
        throw new HubException(Reason.MISSING_COMPONENTS, ref + " has " + (found.isEmpty()
                ? "no IP-Adapter weights (" + String.join(" or ", IP_ADAPTER_DEFAULTS) + ", or one ip-adapter*.safetensors in"
                + " its root or models/)" : "several IP-Adapters and none of " + IP_ADAPTER_DEFAULTS) + ipAdapterHint(ref, files));
    }

    /** The {@code ip-adapter*.safetensors} files of the root and {@code models/}. */
    private static List<String> ipAdapterFiles(Set<String> files) {
        List<String> out = new ArrayList<>();
        for (String f : new TreeSet<>(files)) {
            String name = childOf("", f) != null ? f : childOf("models/", f);
            if (name != null && name.startsWith("ip-adapter") && name.endsWith(".safetensors")) out.add(f);
        }
        return out;
    }

    private static String ipAdapterHint(RepoRef ref, Set<String> files) {
        List<String> found = ipAdapterFiles(files);
        if (found.isEmpty()) return "";
        return "; name one as " + ref.repo() + "/FILE: " + String.join(", ", found.stream().limit(8).toList());
    }

    /** A LoRA: {@code pytorch_lora_weights.safetensors} (the diffusers name), else the root's only {@code .safetensors}. */
    public static FileSelector lora() {
        return (ref, files) -> {
            if (files.contains(LORA_FILE)) return new Selection(Layout.FILE, List.of(LORA_FILE));
            List<String> root = files.stream().filter(f -> !f.contains("/") && f.endsWith(".safetensors")).sorted().toList();
            if (root.size() == 1) return new Selection(Layout.FILE, root);
            throw new HubException(Reason.MISSING_COMPONENTS, ref + " has no " + LORA_FILE
                    + (root.isEmpty() ? " and no other .safetensors file in its root"
                    : "; name one of its files: " + String.join(", ", root.stream().map(f -> ref.repo() + "/" + f).toList())));
        };
    }

    /** Exactly the file {@code ref} names. */
    public static FileSelector file() {
        return (ref, files) -> {
            if (ref.file() == null) throw new IllegalArgumentException(ref + " names no file");
            if (files.contains(ref.file())) return new Selection(Layout.FILE, List.of(ref.file()));
            throw new HubException(Reason.MISSING_COMPONENTS, ref.repository() + " has no file '" + ref.file() + "'"
                    + singleFileHint(ref, files));
        };
    }

    /** The configuration of a diffusers pipeline without its weights: what a single-file checkpoint lacks. */
    public static FileSelector pipelineConfig() {
        return (ref, files) -> {
            List<String> out = new ArrayList<>();
            List<String> missing = new ArrayList<>();
            for (String f : List.of("model_index.json", "scheduler/scheduler_config.json", "text_encoder/config.json",
                    "unet/config.json", "vae/config.json")) {
                require(f, files, out, missing);
            }
            tokenizer(files, out, missing);
            // SDXL (stabilityai/sdxl-turbo): the second text encoder's config and its tokenizer
            if (files.contains(SDXL_TEXT_ENCODER_2 + "/config.json")) {
                require(SDXL_TEXT_ENCODER_2 + "/config.json", files, out, missing);
                tokenizer(SDXL_TOKENIZER_2, files, out, missing);
            }
            requireNone(ref, missing, "diffusers pipeline configuration");
            return new Selection(Layout.CONFIG, out);
        };
    }

    static Selection diffusers(RepoRef ref, Set<String> files) throws HubException {
        List<String> out = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        require("model_index.json", files, out, missing);
        require("scheduler/scheduler_config.json", files, out, missing);
        tokenizer(files, out, missing);
        for (String c : List.of("text_encoder", "unet", "vae")) {
            require(c + "/config.json", files, out, missing);
            weights(c + "/", files, out, missing);
        }
        // Stable Diffusion XL (stabilityai/sdxl-turbo, ...): the second text encoder and its tokenizer
        if (files.contains(SDXL_TEXT_ENCODER_2 + "/config.json")) {
            require(SDXL_TEXT_ENCODER_2 + "/config.json", files, out, missing);
            weights(SDXL_TEXT_ENCODER_2 + "/", files, out, missing);
            tokenizer(SDXL_TOKENIZER_2, files, out, missing);
        }
        // A TAESD next to the model (this project's own models have one) is converted with it, and so is
        // the full VAE of repositories whose vae/ is a tiny one (IDKiro/sdxs-512-0.9 keeps it in vae_large/).
        for (String optional : List.of("taesd", "vae_large")) {
            if (!files.contains(optional + "/config.json")) continue;
            List<String> found = new ArrayList<>();
            List<String> none = new ArrayList<>();
            weights(optional + "/", files, found, none);
            if (none.isEmpty()) {
                out.add(optional + "/config.json");
                out.addAll(found);
            }
        }
        requireNone(ref, missing, "diffusers Stable Diffusion pipeline");
        return new Selection(Layout.DIFFUSERS, out);
    }

    static Selection onnx(RepoRef ref, Set<String> files) throws HubException {
        List<String> out = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        if (files.contains("model_index.json")) out.add("model_index.json");
        require("scheduler/scheduler_config.json", files, out, missing);
        tokenizer(files, out, missing);
        for (String c : ONNX_COMPONENTS) {
            boolean required = c.equals("text_encoder") || c.equals("unet") || c.equals("vae_decoder");
            onnxComponent(c, files, out, missing, required);
        }
        if (files.contains(SDXL_TEXT_ENCODER_2 + "/model.onnx")) { // an SDXL export (Optimum writes text_encoder_2/)
            onnxComponent(SDXL_TEXT_ENCODER_2, files, out, missing, true);
            tokenizer(SDXL_TOKENIZER_2, files, out, missing);
        }
        requireNone(ref, missing, "Stable Diffusion pipeline in ONNX (Optimum) layout");
        return new Selection(Layout.ONNX, out);
    }

    /** {@code dir/model.onnx}, its config and external data ({@code *.onnx_data}, {@code *.pb}). */
    private static void onnxComponent(String dir, Set<String> files, List<String> out, List<String> missing, boolean required) {
        String model = dir + "/model.onnx";
        if (!files.contains(model)) {
            if (required) missing.add(model);
            return;
        }
        out.add(model);
        for (String f : new TreeSet<>(files)) {
            String name = childOf(dir + "/", f);
            if (name == null) continue;
            if (name.equals("config.json") || name.endsWith(".onnx_data") || name.endsWith(".onnx.data") || name.endsWith(".pb")) {
                out.add(f);
            }
        }
    }

    /** Every file directly in {@code tokenizer/}; the vocabulary and merges are required. */
    private static void tokenizer(Set<String> files, List<String> out, List<String> missing) {
        tokenizer("tokenizer", files, out, missing);
    }

    private static void tokenizer(String dir, Set<String> files, List<String> out, List<String> missing) {
        require(dir + "/vocab.json", files, out, missing);
        require(dir + "/merges.txt", files, out, missing);
        for (String f : new TreeSet<>(files)) {
            if (childOf(dir + "/", f) != null && !out.contains(f)) out.add(f);
        }
    }

    /** The safetensors weights of a component folder ({@code prefix} ends with '/', or is empty for the root). */
    private static void weights(String prefix, Set<String> files, List<String> out, List<String> missing) {
        for (String index : INDEXES) {
            if (!files.contains(prefix + index)) continue;
            boolean half = index.contains(".fp16.");
            String stem = index.substring(0, index.indexOf('.'));
            Map<Integer, Integer> found = new TreeMap<>();
            int total = -1;
            List<String> shards = new ArrayList<>();
            for (String f : new TreeSet<>(files)) {
                String name = childOf(prefix, f);
                if (name == null) continue;
                Matcher m = SHARD.matcher(name);
                if (!m.matches() || !m.group(1).equals(stem) || (m.group(2) != null || m.group(5) != null) != half) continue;
                shards.add(f);
                found.merge(Integer.parseInt(m.group(3)), 1, Integer::sum);
                total = Integer.parseInt(m.group(4));
            }
            if (total < 1 || found.size() != total) {
                missing.add(prefix + index + " lists shards, and " + (total < 1 ? "none is present"
                        : found.size() + " of " + total + " are present"));
                return;
            }
            out.add(prefix + index);
            out.addAll(shards);
            return;
        }
        for (String single : SINGLES) {
            if (files.contains(prefix + single)) {
                out.add(prefix + single);
                return;
            }
        }
        List<String> any = new ArrayList<>();
        boolean pickle = false;
        for (String f : new TreeSet<>(files)) {
            String name = childOf(prefix, f);
            if (name == null) continue;
            if (name.endsWith(".safetensors")) any.add(f);
            if (name.endsWith(".bin") || name.endsWith(".ckpt") || name.endsWith(".pt")) pickle = true;
        }
        if (any.size() == 1) {
            out.add(any.getFirst());
            return;
        }
        String where = prefix.isEmpty() ? "the repository root" : prefix;
        if (any.size() > 1) {
            missing.add("weights in " + where + " (" + SINGLES.getFirst() + " or " + SINGLES.get(1)
                    + "; several other .safetensors files, none of them standard: " + String.join(", ", any) + ")");
        } else if (pickle) {
            missing.add("safetensors weights in " + where + " (there are only PyTorch pickles, .bin/.ckpt, which are not"
                    + " read because loading them can run code)");
        } else {
            missing.add("weights in " + where + " (" + SINGLES.getFirst() + ", " + SINGLES.get(1)
                    + ", their .fp16 variants, or a *.safetensors.index.json with its shards)");
        }
    }

    private static void require(String file, Set<String> files, List<String> out, List<String> missing) {
        if (files.contains(file)) out.add(file);
        else missing.add(file);
    }

    private static void requireNone(RepoRef ref, List<String> missing, String what) throws HubException {
        if (missing.isEmpty()) return;
        throw new HubException(Reason.MISSING_COMPONENTS, ref + " is not a complete " + what + ": missing "
                + String.join("; ", new LinkedHashSet<>(missing)));
    }

    /** The file name when {@code f} lies directly in folder {@code prefix} ('' for the root), else null. */
    private static String childOf(String prefix, String f) {
        if (!f.startsWith(prefix)) return null;
        String rest = f.substring(prefix.length());
        return rest.isEmpty() || rest.contains("/") ? null : rest;
    }

    private static String singleFileHint(RepoRef ref, Set<String> files) {
        List<String> st = files.stream().filter(f -> f.endsWith(".safetensors") && !f.contains("/")).sorted().toList();
        if (st.isEmpty()) return "";
        return " (its single-file checkpoints can be named directly: "
                + String.join(", ", st.stream().limit(5).map(f -> ref.repo() + "/" + f).toList()) + ")";
    }

    private static String sample(Set<String> files) {
        if (files.isEmpty()) return "no files";
        List<String> sorted = new ArrayList<>(new TreeSet<>(files));
        String head = String.join(", ", sorted.subList(0, Math.min(12, sorted.size())));
        return sorted.size() > 12 ? head + ", ... (" + sorted.size() + " files)" : head;
    }
}
