package io.streamdiffusion4j.hub;

import java.util.List;
import java.util.Set;

/**
 * Picks the files to download from a repository's file list (or, for the cache, from the files
 * a snapshot already has), or says what is missing with {@link HubException.Reason#MISSING_COMPONENTS}.
 * The factories in {@link RepoLayouts} cover the repositories the pipeline reads.
 */
@FunctionalInterface
public interface FileSelector {

    /** What kind of repository the files make up. */
    enum Layout {
        /** diffusers Stable Diffusion pipeline (safetensors), converted to ONNX before use */
        DIFFUSERS,
        /** Optimum ONNX pipeline, used as it is */
        ONNX,
        /** diffusers AutoencoderTiny in the repository root */
        TAESD_DIFFUSERS,
        /** TAESD as vae_encoder/ + vae_decoder/ ONNX */
        TAESD_ONNX,
        /** one named file (a LoRA, a single-file checkpoint) */
        FILE,
        /** configuration files only (the base of a single-file checkpoint) */
        CONFIG,
        /** diffusers ControlNetModel in the repository root (config.json + safetensors) */
        CONTROLNET_DIFFUSERS,
        /** ControlNet as model.onnx (+ external data) and config.json in the repository root */
        CONTROLNET_ONNX,
        /** IP-Adapter: its safetensors weights and the image_encoder/ beside them (h94/IP-Adapter's layout) */
        IP_ADAPTER
    }

    /** The chosen files (paths inside the repository, '/'-separated) and what they make up. */
    record Selection(Layout layout, List<String> files) {
        public Selection {
            files = List.copyOf(files);
        }
    }

    Selection select(RepoRef ref, Set<String> files) throws HubException;
}
