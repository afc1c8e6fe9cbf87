package io.streamdiffusion4j.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamdiffusion4j.engine.Frame;
import io.streamdiffusion4j.image.RgbImage;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** Newest frame wins, at most N frames in the engine, outputs matched to inputs in order. */
class LiveFrameSourceTest {
    private static Frame frame(long seq) {
        return new Frame(seq, seq * 1000, new RgbImage(1, 1, new byte[3]));
    }

    @Test
    void theNewestFrameWinsAndAtMostTwoAreInFlight() throws Exception {
        LiveFrameSource src = new LiveFrameSource(2);
        src.offer(frame(1));
        assertThat(src.next().index()).isEqualTo(1);
        src.offer(frame(2));
        src.offer(frame(3)); // replaces 2
        assertThat(src.replaced()).isEqualTo(1);
        assertThat(src.next().index()).isEqualTo(3);
        src.offer(frame(4));
        CompletableFuture<Frame> blocked = CompletableFuture.supplyAsync(() -> {
            try {
                return src.next();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        assertThatThrownBy(() -> blocked.get(200, TimeUnit.MILLISECONDS)).as("two in flight: the third waits")
                .isInstanceOf(TimeoutException.class);
        assertThat(src.completed().seq()).isEqualTo(1);
        assertThat(blocked.get(5, TimeUnit.SECONDS).index()).isEqualTo(4);
        assertThat(src.completed()).isEqualTo(new LiveFrameSource.Released(3, 3000));
        assertThat(src.completed().seq()).isEqualTo(4);
        assertThatThrownBy(src::completed).hasMessageContaining("no frame in flight");
    }

    @Test
    void closingEndsTheStream() throws Exception {
        LiveFrameSource src = new LiveFrameSource(1);
        CompletableFuture<Frame> waiting = CompletableFuture.supplyAsync(() -> {
            try {
                return src.next();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(50);
        src.close();
        assertThat(waiting.get(5, TimeUnit.SECONDS)).isNull();
        assertThat(src.offer(frame(1))).isFalse();
    }
}
