package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.model.StableDiffusionModels;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.WindowType;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The camera page in headless Chromium with a fake camera (an ffmpeg test pattern that moves):
 * generated frames come back and change, the overlay shows fps and latency, a prompt typed on the
 * page reaches the session's pipeline, two tabs each show only their own session's images
 * (checked against the server's record of what it sent to whom), and a third tab is told the
 * server is full. Needs Debian's chromium and chromium-driver (.ci/run installs them).
 */
class WebDemoBrowserTest {
    @Test
    void theCameraPageEndToEnd(@TempDir Path dir) throws Exception {
        HeadlessChromium.requireInstalled();
        Path camera = HeadlessChromium.fakeCamera(dir);
        try (StableDiffusionModels models = TestServer.loadModels();
             TestServer s = new TestServer(models, WebServerOptions.defaults().withMaxSessions(2))) {
            WebDriver driver = HeadlessChromium.start(camera);
            try {
                String page = s.http("/").toString();
                // tab A
                driver.get(page);
                String tabA = driver.getWindowHandle();
                configure(driver, "tab A: a red fox in the snow", 1);
                driver.findElement(By.id("start")).click();
                String sessionA = waitForFrames(driver, 8);
                List<Map<String, Object>> framesA = frames(driver);
                assertThat(framesA.stream().map(f -> f.get("digest")).distinct().count()).as("frames change").isGreaterThan(2);
                String overlay = wait(driver, d -> {
                    String t = d.findElement(By.id("overlay")).getText();
                    return t.matches("\\d+\\.\\d fps · \\d+ ms") && !t.startsWith("0.0") ? t : null;
                });
                double fps = Double.parseDouble(overlay.substring(0, overlay.indexOf(' ')));
                System.out.println("browser overlay (64x64, tiny model, one tab): " + overlay);
                assertThat(fps).isGreaterThan(0);

                // a prompt typed on the page reaches the session's pipeline
                WebElement prompt = driver.findElement(By.id("prompt"));
                prompt.clear();
                prompt.sendKeys("tab A: an owl made of copper");
                wait(driver, d -> s.events.applied.getOrDefault(sessionA, List.of()).stream()
                        .anyMatch(x -> x.prompt().equals("tab A: an owl made of copper")) ? true : null);
                assertThat(script(driver, "return window.demo.accepted.prompt")).isEqualTo("tab A: an owl made of copper");

                // a second prompt on the page blends with the first (weights from the blend slider, 0.5 each)
                WebElement blendPrompt = driver.findElement(By.id("blend-prompt"));
                blendPrompt.sendKeys("tab A: a glass vase");
                wait(driver, d -> s.events.applied.getOrDefault(sessionA, List.of()).stream()
                        .anyMatch(x -> x.promptList().size() == 2 && x.promptList().get(1).text().equals("tab A: a glass vase")
                                && x.promptList().get(1).weight() == 0.5) ? true : null);
                assertThat(script(driver, "return window.demo.accepted.prompt_list.length")).isEqualTo(2L);
                blendPrompt.clear();
                blendPrompt.sendKeys(" ");
                blendPrompt.sendKeys(Keys.BACK_SPACE); // an empty second prompt ends the blend
                wait(driver, d -> {
                    List<StreamSettings> applied = s.events.applied.getOrDefault(sessionA, List.of());
                    return !applied.isEmpty() && applied.getLast().promptList().isEmpty() ? true : null;
                });

                // tab B, its own prompt and seed
                driver.switchTo().newWindow(WindowType.WINDOW);
                String tabB = driver.getWindowHandle();
                driver.get(page);
                configure(driver, "tab B: a blue boat on a lake", 2);
                driver.findElement(By.id("start")).click();
                String sessionB = waitForFrames(driver, 8);
                assertThat(sessionB).isNotEqualTo(sessionA);
                driver.switchTo().window(tabA);
                int before = frames(driver).size();
                wait(driver, d -> frames(d).size() >= Math.min(before + 5, 995) ? true : null); // A goes on beside B

                // Every image a tab shows is one its own session sent (the server records each image when
                // its write completes, which can be a moment after the browser has it: wait for that).
                for (var tab : List.of(Map.entry(tabA, sessionA), Map.entry(tabB, sessionB))) {
                    driver.switchTo().window(tab.getKey());
                    List<Map<String, Object>> got = frames(driver);
                    assertThat(got).allSatisfy(f -> assertThat(f.get("session")).isEqualTo(tab.getValue()));
                    Set<String> shown = got.stream().map(f -> (String) f.get("digest")).collect(Collectors.toSet());
                    long deadline = System.nanoTime() + 10_000_000_000L;
                    while (!digests(s.events.sent.get(tab.getValue())).containsAll(shown) && System.nanoTime() < deadline) {
                        Thread.sleep(50);
                    }
                    assertThat(digests(s.events.sent.get(tab.getValue()))).as("images sent to %s", tab.getValue())
                            .containsAll(shown);
                }
                Set<String> sentA = digests(s.events.sent.get(sessionA));
                Set<String> sentB = digests(s.events.sent.get(sessionB));
                assertThat(sentA).as("different prompts and seeds: no image in common").doesNotContainAnyElementsOf(sentB);
                System.out.println("images sent: tab A " + sentA.size() + ", tab B " + sentB.size());

                // a third tab: the server is full
                driver.switchTo().newWindow(WindowType.WINDOW);
                driver.get(page);
                wait(driver, d -> !d.findElement(By.id("prompt")).getAttribute("value").isEmpty() ? true : null);
                driver.findElement(By.id("start")).click();
                String message = wait(driver, d -> {
                    WebElement m = d.findElement(By.id("message"));
                    return m.isDisplayed() && m.getText().contains("full") ? m.getText() : null;
                });
                assertThat(message).contains("The server is full").contains("all 2 sessions are in use");
                assertThat(script(driver, "return window.demo.state")).isEqualTo("full");

                driver.switchTo().window(tabA);
                Files.createDirectories(Path.of("target"));
                Files.write(Path.of("target/web-demo-e2e.png"), ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES));

                // Stop frees tab A's place; the txt2img page takes it and draws as the user types
                driver.findElement(By.id("start")).click();
                wait(driver, d -> s.server.activeSessions() == 1 ? true : null);
                driver.switchTo().window(tabB);
                driver.get(s.http("/txt2img.html").toString()); // leaving the page ends B's session too
                String txt = wait(driver, d -> (String) script(d, "return window.demo.session"));
                wait(driver, d -> ((Number) script(d, "return window.demo.frames")).intValue() > 0 ? true : null);
                WebElement textPrompt = driver.findElement(By.id("prompt"));
                textPrompt.clear();
                textPrompt.sendKeys("a lighthouse in a storm");
                // the settings version with the new prompt reaches the pipeline, and a picture made with it is sent
                long version = wait(driver, d -> {
                    List<StreamSettings> applied = s.events.applied.getOrDefault(txt, List.of());
                    for (int i = 0; i < applied.size(); i++) {
                        if (applied.get(i).prompt().equals("a lighthouse in a storm")) return (long) i + 1;
                    }
                    return null;
                });
                wait(driver, d -> s.events.sentSources.get(txt).contains(version) ? true : null);
                // a second prompt on the txt2img page blends with the first, as on the camera page
                driver.findElement(By.id("blend-prompt")).sendKeys("a ship in a bottle");
                long blended = wait(driver, d -> {
                    List<StreamSettings> applied = s.events.applied.getOrDefault(txt, List.of());
                    for (int i = 0; i < applied.size(); i++) {
                        List<io.streamdiffusion4j.pipeline.WeightedPrompt> list = applied.get(i).promptList();
                        if (list.size() == 2 && list.get(0).text().equals("a lighthouse in a storm")
                                && list.get(1).text().equals("a ship in a bottle") && list.get(1).weight() == 0.5) {
                            return (long) i + 1;
                        }
                    }
                    return null;
                });
                wait(driver, d -> s.events.sentSources.get(txt).contains(blended) ? true : null);
            } finally {
                driver.quit();
            }
        }
    }

    /** Fills the prompt and seed fields once the page has loaded the server's defaults. */
    private static void configure(WebDriver driver, String promptText, int seed) {
        wait(driver, d -> !d.findElement(By.id("prompt")).getAttribute("value").isEmpty() ? true : null);
        WebElement prompt = driver.findElement(By.id("prompt"));
        prompt.clear();
        prompt.sendKeys(promptText);
        WebElement seedField = driver.findElement(By.id("seed"));
        seedField.clear();
        seedField.sendKeys(Integer.toString(seed));
    }

    /** Waits for n frames and returns the tab's session id. */
    private static String waitForFrames(WebDriver driver, int n) {
        wait(driver, d -> frames(d).size() >= n ? true : null);
        String session = (String) script(driver, "return window.demo.session");
        assertThat(session).isNotBlank();
        return session;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> frames(WebDriver driver) {
        return (List<Map<String, Object>>) script(driver, "return window.demo.frames.slice()");
    }

    private static Object script(WebDriver driver, String js) {
        return HeadlessChromium.script(driver, js);
    }

    private static <T> T wait(WebDriver driver, java.util.function.Function<WebDriver, T> condition) {
        return HeadlessChromium.waitFor(driver, condition);
    }

    private static Set<String> digests(List<byte[]> images) throws Exception {
        assertThat(images).isNotNull();
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        return images.stream().map(b -> HexFormat.of().formatHex(sha.digest(b))).collect(Collectors.toSet());
    }
}
