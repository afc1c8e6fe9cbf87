package io.streamdiffusion4j.web;

import static io.streamdiffusion4j.web.HeadlessChromium.script;
import static io.streamdiffusion4j.web.HeadlessChromium.waitFor;
import static org.assertj.core.api.Assertions.assertThat;

import io.streamdiffusion4j.model.StableDiffusionModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WindowType;

/**
 * Issue 14, the pages' side of a drain: two {@code serve} processes behind nginx (the
 * repository's configuration), the camera page and the txt2img page in headless Chromium. When
 * the instance a page is on gets SIGTERM, the page shows the server's message, starts a new
 * session on its own (the camera stays on), lands on the other instance and goes on drawing;
 * pages on the other instance are not disturbed. Needs nginx, chromium and chromium-driver
 * (.ci/run installs them).
 */
class ReconnectBrowserTest {
    private static final String IMG2IMG = "sd4j_sessions_opened_total{kind=\"img2img\"}";
    private static final String TXT2IMG = "sd4j_sessions_opened_total{kind=\"txt2img\"}";

    /** A tab and where it is. */
    private record Tab(String handle, String page, String session, ServeProcess instance) {}

    @Test
    void pagesOfAStoppingInstanceReconnectToTheOtherByThemselves(@TempDir Path dir) throws Exception {
        NginxProxy.binary();
        HeadlessChromium.requireInstalled();
        try (StableDiffusionModels models = TestServer.loadModels()) {
            // made the tiny model in the test cache, so that the two processes do not both make it
        }
        Path camera = HeadlessChromium.fakeCamera(dir);
        int proxyPort = NginxProxy.freePort();
        String[] serve = {"--model", "tiny", "--width", "64", "--height", "64", "--max-sessions", "8",
                "--allow-host", "127.0.0.1:" + proxyPort, "--drain-timeout", "20"};
        Path nginxDir = Files.createDirectories(dir.resolve("nginx"));
        try (ServeProcess a = ServeProcess.start(dir.resolve("a.log"), serve);
             ServeProcess b = ServeProcess.start(dir.resolve("b.log"), serve);
             NginxProxy proxy = NginxProxy.start(nginxDir, proxyPort, a.port, b.port)) {
            String base = "http://127.0.0.1:" + proxyPort;
            WebDriver driver = HeadlessChromium.start(camera);
            try {
                List<Tab> tabs = new ArrayList<>();
                // a camera page and then txt2img pages until one txt2img page shares the camera page's instance
                tabs.add(open(driver, base + "/", a, b, true));
                ServeProcess stopped = tabs.getFirst().instance();
                while (tabs.stream().noneMatch(t -> t.page().equals("txt2img") && t.instance() == stopped)) {
                    assertThat(tabs).as("least_conn alternates: a txt2img page lands beside the camera page").hasSizeLessThan(5);
                    driver.switchTo().newWindow(WindowType.WINDOW);
                    tabs.add(open(driver, base + "/txt2img.html", a, b, false));
                }
                ServeProcess other = stopped == a ? b : a;

                List<Long> drawnBefore = new ArrayList<>();
                for (Tab tab : tabs) {
                    driver.switchTo().window(tab.handle());
                    drawnBefore.add(drawn(driver, tab.page()));
                }
                stopped.process.destroy(); // SIGTERM: drain
                assertThat(stopped.process.waitFor(60, TimeUnit.SECONDS)).as("the instance exits after draining").isTrue();
                assertThat(stopped.process.exitValue()).as(stopped.output()).isZero();

                for (int i = 0; i < tabs.size(); i++) {
                    Tab tab = tabs.get(i);
                    long before = drawnBefore.get(i);
                    driver.switchTo().window(tab.handle());
                    if (tab.instance() == stopped) {
                        String session;
                        try {
                            session = waitFor(driver, d -> {
                                Object s = script(d, "return window.demo.state === 'running' && window.demo.reconnects === 1"
                                        + " ? window.demo.session : null");
                                return s instanceof String id && !id.equals(tab.session()) ? id : null;
                            });
                        } catch (org.openqa.selenium.TimeoutException e) {
                            throw new AssertionError("the " + tab.page() + " page did not reconnect: "
                                    + script(driver, "return JSON.stringify({state: window.demo.state, reconnects:"
                                    + " window.demo.reconnects, session: window.demo.session, messages: window.demo.messages})")
                                    + ", banner: " + driver.findElement(By.id("message")).getText() + proxy.logs()
                                    + "\n" + String.join("\n", proxy.accessLog()), e);
                        }
                        assertThat(session).as("a new session").isNotEqualTo(tab.session());
                        // it draws again, from the other instance (txt2img draws once for the settings it sends)
                        waitFor(driver, d -> drawn(d, tab.page()) > before ? true : null);
                        assertThat(driver.findElement(By.id("message")).getText())
                                .as("the page said what happened").containsAnyOf("Reconnected", "shutting down");
                    } else {
                        assertThat(script(driver, "return window.demo.reconnects")).as("undisturbed").isEqualTo(0L);
                        assertThat(script(driver, "return window.demo.session")).isEqualTo(tab.session());
                    }
                }
                long movedImg = tabs.stream().filter(t -> t.instance() == stopped && t.page().equals("img2img")).count();
                long movedTxt = tabs.stream().filter(t -> t.instance() == stopped && t.page().equals("txt2img")).count();
                long stayedTxt = tabs.stream().filter(t -> t.instance() == other && t.page().equals("txt2img")).count();
                assertThat(other.metrics().valueOr(IMG2IMG, 0)).isEqualTo(movedImg);
                assertThat(other.metrics().valueOr(TXT2IMG, 0)).isEqualTo(movedTxt + stayedTxt);
            } finally {
                driver.quit();
            }
        }
    }

    /** Opens a page in the current tab, starts it, waits for its first pictures and finds its instance. */
    private static Tab open(WebDriver driver, String url, ServeProcess a, ServeProcess b, boolean camera) throws Exception {
        String page = camera ? "img2img" : "txt2img";
        String series = camera ? IMG2IMG : TXT2IMG;
        double onA = a.metrics().valueOr(series, 0);
        double onB = b.metrics().valueOr(series, 0);
        driver.get(url);
        try {
            if (camera) {
                waitFor(driver, d -> !d.findElement(By.id("prompt")).getAttribute("value").isEmpty() ? true : null);
                driver.findElement(By.id("start")).click();
            }
            // a page's first pictures wait for Chromium's camera and both JVMs' first session on a shared CI host
            waitFor(driver, Duration.ofSeconds(90), d -> drawn(d, page) >= 2 ? true : null);
        } catch (org.openqa.selenium.TimeoutException e) {
            // say where the page stood and what both instances said, so that a failure on CI explains itself
            throw new AssertionError("the " + page + " page at " + url + " did not show two pictures: "
                    + script(driver, "return JSON.stringify(window.demo ?? 'no demo object: the page did not load')")
                    + ", banner: " + script(driver, "return document.getElementById('message')?.textContent")
                    + "\n--- instance a ---\n" + a.output() + "\n--- instance b ---\n" + b.output(), e);
        }
        String session = (String) script(driver, "return window.demo.session");
        boolean onInstanceA = a.metrics().valueOr(series, 0) == onA + 1;
        boolean onInstanceB = b.metrics().valueOr(series, 0) == onB + 1;
        assertThat(onInstanceA ^ onInstanceB).as("the page's session opened on exactly one instance").isTrue();
        return new Tab(driver.getWindowHandle(), page, session, onInstanceA ? a : b);
    }

    /** Pictures the page has shown. */
    private static long drawn(WebDriver driver, String page) {
        Object n = script(driver, page.equals("img2img") ? "return window.demo.frames.length" : "return window.demo.frames");
        return ((Number) n).longValue();
    }
}
