package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Debian's Chromium, headless, with a fake camera, for the tests that drive the pages as a user
 * does. Needs the packages chromium and chromium-driver (.ci/run installs them).
 */
final class HeadlessChromium {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    private HeadlessChromium() {}

    /** Fails at once, saying what to install, where the browser is missing. */
    static void requireInstalled() {
        assertThat(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER))
                .as("the browser test needs %s and %s: apt-get install chromium chromium-driver (.ci/run does)", CHROMIUM,
                        CHROMEDRIVER)
                .isTrue();
    }

    /** A moving test pattern as the camera, written into {@code dir}: Chromium loops the file. */
    static Path fakeCamera(Path dir) throws Exception {
        Path y4m = dir.resolve("camera.y4m");
        Process p = new ProcessBuilder("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=15:duration=2",
                "-pix_fmt", "yuv420p", y4m.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("ffmpeg: " + out).isZero();
        return y4m;
    }

    /** One test-pattern picture repeated, as the camera (so the generated frames settle to one picture). */
    static Path stillCamera(Path dir) throws Exception {
        Path png = dir.resolve("still.png");
        Path y4m = dir.resolve("camera.y4m");
        ffmpeg("-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120", "-frames:v", "1", png.toString());
        ffmpeg("-v", "error", "-loop", "1", "-i", png.toString(), "-t", "2", "-r", "15", "-pix_fmt", "yuv420p", y4m.toString());
        return y4m;
    }

    private static void ffmpeg(String... args) throws Exception {
        java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of("ffmpeg"));
        command.addAll(java.util.List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("ffmpeg: " + out).isZero();
    }

    /** A browser whose camera is {@code camera}; quit it when done. */
    static WebDriver start(Path camera) {
        requireInstalled();
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(new File(CHROMEDRIVER.toString()))
                .usingAnyFreePort().build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toString()); // with both paths given, Selenium Manager never goes online
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                "--use-file-for-fake-video-capture=" + camera.toAbsolutePath(),
                // the tabs are separate windows; none may be throttled as a background page
                "--disable-background-timer-throttling", "--disable-backgrounding-occluded-windows",
                "--disable-renderer-backgrounding", "--window-size=1200,900");
        return new ChromeDriver(service, options);
    }

    static Object script(WebDriver driver, String js) {
        return ((JavascriptExecutor) driver).executeScript(js);
    }

    /** Waits (40 s at most) until {@code condition} gives something other than null or false, and returns it. */
    static <T> T waitFor(WebDriver driver, Function<WebDriver, T> condition) {
        return waitFor(driver, Duration.ofSeconds(40), condition);
    }

    /** Waits (at most {@code limit}) until {@code condition} gives something other than null or false, and returns it. */
    static <T> T waitFor(WebDriver driver, Duration limit, Function<WebDriver, T> condition) {
        return new WebDriverWait(driver, limit).until(condition::apply);
    }
}
