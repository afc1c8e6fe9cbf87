package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.control.CannyPreprocessor;
import io.streamdiffusion4j.model.StableDiffusionModels;
import io.streamdiffusion4j.onnx.OnnxModelLoader;
import io.streamdiffusion4j.onnx.OrtControlNet;
import io.streamdiffusion4j.testing.ControlNetTestModels;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * A ControlNet scale changed from the page: headless Chromium with a still fake camera (so the
 * generated frames settle to one picture), a server whose sessions run a ControlNet-shaped
 * stand-in ({@link ControlNetTestModels}) with canny edges; moving the page's scale slider to 0
 * reaches the session's pipeline and the settled picture changes. Needs Debian's chromium and
 * chromium-driver, as {@link WebDemoBrowserTest}.
 */
class ControlNetBrowserTest {
    @Test
    void aScaleSliderOnThePageChangesTheStream(@TempDir Path dir) throws Exception {
        HeadlessChromium.requireInstalled();
        Path camera = HeadlessChromium.stillCamera(dir);
        Path model = ControlNetTestModels.tinyWithControl(dir);
        ControlNetTestModels.controlNet(dir.resolve("cn"), 4, 16);
        OnnxModelLoader.Options options = OnnxModelLoader.Options.defaults();
        TestServer.Events events = new TestServer.Events();
        try (StableDiffusionModels models = OnnxModelLoader.load(model, model.resolve("taesd"), options,
                model.resolve("unet_control/model.onnx"));
             OrtControlNet cn = OnnxModelLoader.loadControlNet(dir.resolve("cn"), options)) {
            StreamFactory factory = TestServer.factory(models).controlNets(List.of(cn), new double[] {0.8}, new CannyPreprocessor());
            WebServer server = new WebServer(WebServerOptions.defaults().withPort(0), factory, events);
            server.start();
            WebDriver driver = HeadlessChromium.start(camera);
            try {
                driver.get("http://127.0.0.1:" + server.port() + "/");
                wait(driver, d -> !d.findElement(By.id("prompt")).getAttribute("value").isEmpty() ? true : null);
                driver.findElement(By.id("start")).click();
                wait(driver, d -> d.findElements(By.id("controlnet-0")).isEmpty() ? null : true);
                assertThat(driver.findElement(By.id("controlnet-0")).getAttribute("value")).isEqualTo("0.8");
                String session = (String) script(driver, "return window.demo.session");
                String withControl = settled(driver);
                script(driver, "const e = document.getElementById('controlnet-0'); e.value = '0';"
                        + " e.dispatchEvent(new Event('input'));");
                wait(driver, d -> events.applied.getOrDefault(session, List.of()).stream()
                        .anyMatch(x -> x.controlnetScales().equals(List.of(0.0))) ? true : null);
                int seen = frames(driver).size();
                wait(driver, d -> frames(d).size() > seen + 3 ? true : null);
                String without = settled(driver);
                assertThat(without).as("the picture at scale 0 differs from the one at 0.8").isNotEqualTo(withControl);
            } finally {
                driver.quit();
                server.close();
            }
        }
    }

    /** The digest the generated frames settle on (the last four frames the same). */
    private static String settled(WebDriver driver) {
        return wait(driver, d -> {
            List<Map<String, Object>> f = frames(d);
            if (f.size() < 4) return null;
            Object last = f.getLast().get("digest");
            for (int i = f.size() - 4; i < f.size(); i++) if (!f.get(i).get("digest").equals(last)) return null;
            return (String) last;
        });
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> frames(WebDriver driver) {
        return (List<Map<String, Object>>) script(driver, "return window.demo.frames.slice()");
    }

    private static Object script(WebDriver driver, String js) {
        return HeadlessChromium.script(driver, js);
    }

    private static <T> T wait(WebDriver driver, java.util.function.Function<WebDriver, T> condition) {
        return new WebDriverWait(driver, Duration.ofSeconds(60)).until(condition::apply);
    }
}
