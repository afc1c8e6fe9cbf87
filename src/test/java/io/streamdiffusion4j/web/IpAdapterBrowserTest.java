package io.streamdiffusion4j.web;

import static io.streamdiffusion4j.web.HeadlessChromium.script;
import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.convert.IpAdapterPreset;
import io.streamdiffusion4j.convert.RandomModels;
import io.streamdiffusion4j.model.StableDiffusionModels;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.TimeoutException;
import org.openqa.selenium.WebDriver;

/**
 * The style image and the IP-Adapter's scale changed from the page, as a user does: {@code serve
 * --model tiny --ip-adapter DIR:0.8} (a random tiny-ip-adapter made in the test's folder) in its
 * own JVM, headless Chromium with a still fake camera (so the generated frames settle to one
 * picture). A style image picked in the page's file input changes the settled picture; a damaged
 * and an oversized one are refused with the server's reason in the page's banner while the stream
 * goes on with the style image it had; the scale slider at 0 gives the picture without a style
 * image back (the adapter adds exact zeros). The txt2img page's style image reaches its session
 * too. Needs Debian's chromium and chromium-driver.
 */
class IpAdapterBrowserTest {
    /** First pictures wait for Chromium's camera and the server's first session on a shared CI host. */
    private static final Duration FIRST = Duration.ofSeconds(90);
    private static final Duration CHANGE = Duration.ofSeconds(60);
    private static final int MAX_SIDE = 100;

    @Test
    void aStyleImageAndTheScaleFromThePageChangeTheStreamAndABadImageShowsAnError(@TempDir Path dir) throws Exception {
        HeadlessChromium.requireInstalled();
        try (StableDiffusionModels models = TestServer.loadModels()) {
            // makes the tiny model in the test cache before the server's JVM looks for it
        }
        Path camera = HeadlessChromium.stillCamera(dir);
        Path adapter = dir.resolve("adapter");
        RandomModels.create(IpAdapterPreset.TINY, 0, adapter, null);
        Path style = png(dir.resolve("style.png"), 48, 40);
        Path damaged = Files.write(dir.resolve("damaged.jpg"), new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE0, 1, 2, 3});
        Path oversized = png(dir.resolve("oversized.png"), 160, 40);
        try (ServeProcess serve = ServeProcess.start(dir.resolve("serve.log"), "--model", "tiny", "--width", "64", "--height", "64",
                "--ip-adapter", adapter + ":0.8", "--max-frame-size", "" + MAX_SIDE)) {
            WebDriver driver = HeadlessChromium.start(camera);
            try {
                driver.get("http://127.0.0.1:" + serve.port + "/");
                waitFor(driver, serve, FIRST, "the page's settings",
                        d -> !d.findElement(By.id("prompt")).getAttribute("value").isEmpty() ? true : null);
                driver.findElement(By.id("start")).click();
                waitFor(driver, serve, FIRST, "two pictures", d -> frames(d).size() >= 2 ? true : null);
                waitFor(driver, serve, CHANGE, "the IP-Adapter's controls",
                        d -> d.findElement(By.id("ip-adapter")).isDisplayed() ? true : null);
                assertThat(driver.findElement(By.id("ip-scale")).getAttribute("value")).isEqualTo("0.8");
                String plain = settled(driver, serve, "the picture without a style image");

                driver.findElement(By.id("style-image")).sendKeys(style.toString());
                waitFor(driver, serve, CHANGE, "the server's word that the style image is in",
                        d -> Boolean.TRUE.equals(script(d, "return window.demo.style?.set === true")) ? true : null);
                assertThat(driver.findElement(By.id("style-status")).getText()).isEqualTo("48×40");
                String styled = settledAfterNow(driver, serve, "the picture with the style image");
                assertThat(styled).as("the style image changed the stream").isNotEqualTo(plain);

                for (Path bad : List.of(damaged, oversized)) {
                    long errors = errors(driver).size();
                    driver.findElement(By.id("style-image")).sendKeys(bad.toString());
                    waitFor(driver, serve, CHANGE, "the refusal of " + bad.getFileName(),
                            d -> errors(d).size() > errors ? true : null);
                    String banner = driver.findElement(By.id("message")).getText();
                    assertThat(banner).as(bad.getFileName().toString()).contains("stays as it was");
                    if (bad == oversized) assertThat(banner).contains("160x40").contains("at most " + MAX_SIDE + " pixels");
                    else assertThat(banner).contains("could not be decoded");
                    assertThat(settledAfterNow(driver, serve, "the stream after " + bad.getFileName()))
                            .as("the stream goes on with the style image it had").isEqualTo(styled);
                }

                script(driver, "const e = document.getElementById('ip-scale'); e.value = '0'; e.dispatchEvent(new Event('input'));");
                waitFor(driver, serve, CHANGE, "the scale 0 accepted",
                        d -> Boolean.TRUE.equals(script(d, "return window.demo.accepted?.ip_adapter_scale === 0")) ? true : null);
                assertThat(settledAfterNow(driver, serve, "the picture at scale 0"))
                        .as("at scale 0 the adapter adds nothing: the picture without a style image").isEqualTo(plain);

                // the txt2img page has the same controls: a style image picked there reaches its session and draws again
                driver.get("http://127.0.0.1:" + serve.port + "/txt2img.html");
                waitFor(driver, serve, FIRST, "the txt2img page's first picture",
                        d -> ((Number) script(d, "return window.demo.frames")).longValue() >= 1 ? true : null);
                waitFor(driver, serve, CHANGE, "the txt2img page's IP-Adapter controls",
                        d -> d.findElement(By.id("ip-adapter")).isDisplayed() ? true : null);
                long drawn = ((Number) script(driver, "return window.demo.frames")).longValue();
                driver.findElement(By.id("style-image")).sendKeys(style.toString());
                waitFor(driver, serve, CHANGE, "the txt2img session's word that the style image is in",
                        d -> Boolean.TRUE.equals(script(d, "return window.demo.style?.set === true")) ? true : null);
                waitFor(driver, serve, CHANGE, "a txt2img picture with the style image",
                        d -> ((Number) script(d, "return window.demo.frames")).longValue() > drawn ? true : null);
            } finally {
                driver.quit();
            }
        }
    }

    private static Path png(Path file, int w, int h) throws Exception {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, (x * 5) << 16 | (255 - y * 6) << 8 | 40);
        ImageIO.write(img, "png", file.toFile());
        return file;
    }

    /** The digest the pictures settle on after the ones already shown (four pictures in a row the same). */
    private static String settledAfterNow(WebDriver driver, ServeProcess serve, String what) {
        int seen = frames(driver).size();
        return waitFor(driver, serve, CHANGE, what, d -> {
            List<Map<String, Object>> f = frames(d);
            return f.size() >= seen + 4 ? lastFourAlike(f) : null;
        });
    }

    private static String settled(WebDriver driver, ServeProcess serve, String what) {
        return waitFor(driver, serve, CHANGE, what, d -> lastFourAlike(frames(d)));
    }

    private static String lastFourAlike(List<Map<String, Object>> f) {
        if (f.size() < 4) return null;
        Object last = f.getLast().get("digest");
        for (int i = f.size() - 4; i < f.size(); i++) if (!f.get(i).get("digest").equals(last)) return null;
        return (String) last;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> frames(WebDriver driver) {
        return (List<Map<String, Object>>) script(driver, "return window.demo.frames.slice()");
    }

    @SuppressWarnings("unchecked")
    private static List<String> errors(WebDriver driver) {
        return (List<String>) script(driver, "return window.demo.errors.slice()");
    }

    /** Waits; a timeout says where the page stood (its demo state, its banner) and what the server logged. */
    private static <T> T waitFor(WebDriver driver, ServeProcess serve, Duration limit, String what, Function<WebDriver, T> condition) {
        try {
            return HeadlessChromium.waitFor(driver, limit, condition);
        } catch (TimeoutException e) {
            String log;
            try {
                log = serve.output();
            } catch (Exception x) {
                log = "(the server's log could not be read: " + x + ")";
            }
            throw new AssertionError("waited " + limit.toSeconds() + " s for " + what + "; the page: "
                    + script(driver, "const d = window.demo; return JSON.stringify(d ? {...d, frames: d.frames.slice(-6)}"
                    + " : 'no demo object: the page did not load')")
                    + ", banner: " + script(driver, "return document.getElementById('message')?.textContent")
                    + "\n--- serve ---\n" + log, e);
        }
    }
}
