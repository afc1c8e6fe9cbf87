package io.streamdiffusion4j.web;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamdiffusion4j.fuzz.ByteMutator;
import io.streamdiffusion4j.fuzz.FuzzTarget;
import io.streamdiffusion4j.fuzz.JsonMutator;
import io.streamdiffusion4j.image.BadImageException;
import io.streamdiffusion4j.image.ImageCodec;
import io.streamdiffusion4j.image.ImageHeader;
import io.streamdiffusion4j.image.ImageSizeLimit;
import io.streamdiffusion4j.pipeline.IpAdapterStyle;
import io.streamdiffusion4j.pipeline.LiveSettingsLimits;
import io.streamdiffusion4j.pipeline.SimilarityFilterSettings;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Fuzz targets for what a WebSocket client sends: text messages (both protocols) and the JPEG header check. */
public final class WebFuzzTargets {
    private static final List<String> KEYS = List.of("type", "prompt", "negative_prompt", "strength", "t_index_list",
            "guidance_scale", "delta", "seed", "similar_image_filter", "enabled", "threshold", "max_skip_frame", "width",
            "height", "status", "prompt_list", "seed_list", "interpolation", "prompt_transition_frames", "controlnet_scales",
            "ip_adapter_scale", "ip_scale", "bytes", "clear");
    private static final List<String> WORDS = List.of("settings", "frame", "next_frame", "low", "medium", "high", "linear",
            "slerp", "style_image", "");

    private WebFuzzTargets() {}

    /**
     * One text message through everything that reads it: the JSON parse, the settings merge of
     * img2img and txt2img sessions (strict), the compatibility API's lenient merge, and the
     * style_image announcement (with and without an IP-Adapter; an accepted one owes a binary
     * message of 1 to the largest message's bytes). Bad
     * messages must be a ProtocolException with a message (answered to the client, the session
     * goes on); accepted settings must be within the documented limits.
     */
    public static FuzzTarget settingsMessage() {
        SettingsParser img2img = new SettingsParser(50, StrengthPresets.forSteps(50), 512, 512, true);
        SettingsParser txt2img = new SettingsParser(4, StrengthPresets.forSteps(4), 512, 512, false);
        // a session with two ControlNets, so controlnet_scales is read as well as refused
        // and an IP-Adapter, so ip_adapter_scale is read and checked as well as refused when out of range
        StreamSettings start = new StreamSettings("a fox", "", List.of(32, 45), 1.2, 1.0, 2, new SimilarityFilterSettings(false, 0.98, 10))
                .withControlnetScales(List.of(0.8, 0.5)).withIpAdapterScale(0.8);
        int maxMessage = 64 * 1024;
        return new FuzzTarget("ws-message", WebFuzzTargets::messageSeeds, new JsonMutator(16 * 1024, KEYS, WORDS), input -> {
            JsonNode m = Messages.parse(new String(input, StandardCharsets.UTF_8));
            m.path("status").asText(); // what the compatibility socket reads first
            List<Throwable> refused = new ArrayList<>();
            for (Merge merge : List.<Merge>of(() -> img2img.merge(start, m), () -> txt2img.merge(start, m),
                    () -> img2img.merge(start, m, true))) {
                try {
                    withinLimits(merge.run());
                } catch (ProtocolException e) {
                    if (e.getMessage() == null || e.getMessage().isBlank()) throw e; // the runner reports it
                    refused.add(e);
                }
            }
            if (m.path("type").asText("").equals(StyleImageUpload.TYPE)) {
                for (boolean adapter : new boolean[] {true, false}) {
                    StyleImageUpload upload = new StyleImageUpload(adapter, maxMessage, ImageCodec.best(), ImageSizeLimit.FRAMES);
                    try {
                        if (upload.announce(m) instanceof StyleImageUpload.Expect
                                && !(upload.expectedBytes() >= 1 && upload.expectedBytes() <= maxMessage)) {
                            throw new IllegalStateException("accepted a style image of " + upload.expectedBytes() + " bytes");
                        }
                    } catch (ProtocolException e) {
                        if (e.getMessage() == null || e.getMessage().isBlank()) throw e;
                        refused.add(e);
                    }
                }
            }
            if (!refused.isEmpty()) throw (ProtocolException) refused.getFirst();
        }, Set.of(ProtocolException.class), false, 6000);
    }

    private interface Merge {
        StreamSettings run() throws ProtocolException;
    }

    private static void withinLimits(StreamSettings s) {
        // seeds: any 64 bits are a valid torch seed (TorchSeed), so there is nothing to check
        boolean ok = s.prompt().length() <= LiveSettingsLimits.MAX_PROMPT_CHARS
                && s.negativePrompt().length() <= LiveSettingsLimits.MAX_PROMPT_CHARS
                && !s.tIndexList().isEmpty() && s.tIndexList().size() <= LiveSettingsLimits.MAX_STEPS
                && LiveSettingsLimits.GUIDANCE_SCALE.contains(s.guidanceScale())
                && LiveSettingsLimits.DELTA.contains(s.delta())
                && s.filter().threshold() >= 0 && s.filter().threshold() <= 1
                && s.filter().maxSkipFrame() >= 0 && s.filter().maxSkipFrame() <= LiveSettingsLimits.MAX_SKIP_FRAME;
        ok &= s.promptList().size() <= LiveSettingsLimits.MAX_BLEND_ENTRIES && s.seedList().size() <= LiveSettingsLimits.MAX_BLEND_ENTRIES
                && s.promptTransitionFrames() >= 0 && s.promptTransitionFrames() <= LiveSettingsLimits.MAX_TRANSITION_FRAMES
                && s.controlnetScales().size() <= LiveSettingsLimits.MAX_CONTROLNETS
                && s.controlnetScales().stream().allMatch(LiveSettingsLimits.CONTROLNET_SCALE::contains)
                && s.ipAdapterScale() >= 0 && s.ipAdapterScale() <= IpAdapterStyle.MAX_SCALE;
        if (!ok) throw new IllegalStateException("accepted settings outside the limits: " + s);
    }

    private static List<byte[]> messageSeeds() {
        return List.of(
                "{\"type\":\"settings\",\"prompt\":\"a cat\",\"negative_prompt\":\"blurry\",\"guidance_scale\":1.4,\"delta\":0.8,\"seed\":7}",
                "{\"type\":\"settings\",\"strength\":\"high\"}",
                "{\"type\":\"settings\",\"t_index_list\":[10,20,30,40]}",
                "{\"type\":\"settings\",\"similar_image_filter\":{\"enabled\":true,\"threshold\":0.95,\"max_skip_frame\":5}}",
                "{\"type\":\"frame\"}",
                "{\"type\":\"settings\",\"ip_adapter_scale\":0.6}",
                "{\"type\":\"style_image\",\"bytes\":1234}",
                "{\"type\":\"style_image\",\"clear\":true}",
                "{\"status\":\"next_frame\"}",
                "{\"prompt\":\"portrait\",\"guidance_scale\":\"1.2\",\"delta\":null,\"seed\":\"42\",\"width\":512,\"height\":512,\"strength\":\"low\"}")
                .stream().map(s -> s.getBytes(StandardCharsets.UTF_8)).toList();
    }

    /** The server's header check before a frame is decoded: a size, or an IllegalArgumentException saying why not. */
    public static FuzzTarget jpegHeader(List<byte[]> jpegSeeds) {
        return new FuzzTarget("jpeg-header", () -> jpegSeeds, new ByteMutator(64 * 1024, new byte[] {(byte) 0xFF, (byte) 0xD8},
                new byte[] {(byte) 0xFF, (byte) 0xC0}, new byte[] {(byte) 0xFF, (byte) 0xDA}, new byte[] {(byte) 0xFF, (byte) 0xD9},
                new byte[] {(byte) 0xFF, (byte) 0xFF}, new byte[] {(byte) 0xFF, (byte) 0xC4}, new byte[] {(byte) 0xFF, (byte) 0xC2},
                new byte[] {(byte) 0xFF, (byte) 0x01}, new byte[] {(byte) 0xFF, (byte) 0xD0}), input -> {
            ImageHeader h = ImageHeader.read(input, ImageSizeLimit.FRAMES);
            if (h.width() <= 0 || h.height() <= 0) throw new IllegalStateException("header read as " + h);
        }, Set.of(BadImageException.class), false, 30000);
    }
}
