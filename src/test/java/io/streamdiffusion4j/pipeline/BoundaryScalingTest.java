package io.streamdiffusion4j.pipeline;

import static io.streamdiffusion4j.testing.TensorAssert.assertClose;

import io.streamdiffusion4j.random.TorchGenerator;
import io.streamdiffusion4j.scheduler.LcmCoefficients;
import io.streamdiffusion4j.scheduler.LcmScheduler;
import io.streamdiffusion4j.scheduler.SchedulerConfig;
import io.streamdiffusion4j.tensor.FloatTensor;
import io.streamdiffusion4j.testing.StandInUnet;
import org.junit.jupiter.api.Test;

/**
 * The LCM boundary scalings with values that matter. With the real schedule c_skip is at most
 * 2.6e-7 and c_out differs from 1 by at most 1.2e-7, so the reference runs see a dropped c_skip
 * or c_out only in the last bit; here they are 0.3/0.2 and 0.6/0.7, and the denoised rows must be
 * x0 = c_out (x - sqrt(1-a) eps) / sqrt(a) + c_skip x, row by row, over two calls of the stream.
 */
class BoundaryScalingTest {
    @Test
    void everyRowIsScaledByItsOwnCSkipAndCOut() {
        int[] tIndex = {32, 45};
        LcmCoefficients real = LcmCoefficients.compute(new LcmScheduler(SchedulerConfig.SD_DEFAULT), 50, tIndex);
        float[] cSkip = {0.3f, 0.2f};
        float[] cOut = {0.6f, 0.7f};
        LcmCoefficients c = new LcmCoefficients(real.timestepSchedule(), real.tIndexList(), real.timesteps(),
                real.alphaProdSqrt(), real.betaProdSqrt(), cSkip, cOut);
        StreamConfig cfg = StreamConfig.builder().tIndexList(tIndex).size(16, 16).cfgType(CfgType.NONE).build();
        StandInUnet unet = new StandInUnet(4, 3);
        StreamBatch s = new StreamBatch(unet, cfg, c, new TorchGenerator(1));
        FloatTensor embedding = new FloatTensor(new float[2 * 5 * 3], 2, 5, 3);
        s.setConditioning(Guidance.of(CfgType.NONE, 1.0, 1.0), embedding);
        FloatTensor noise = new TorchGenerator(4).randn(2, 4, 2, 2);
        s.reset(noise);
        float[] a = c.alphaProdSqrt();
        float[] b = c.betaProdSqrt();
        for (int call = 0; call < 2; call++) {
            FloatTensor out = s.denoise(new TorchGenerator(10 + call).randn(1, 4, 2, 2));
            StandInUnet.Call in = unet.calls.get(call);
            float[] x = in.sample().data();
            float[] eps = new StandInUnet(4, 3).predictNoise(in.sample(), in.timesteps(), in.hiddenStates()).data();
            int rs = in.sample().rowSize();
            float[] x0 = new float[x.length];
            for (int r = 0; r < 2; r++) {
                for (int i = r * rs; i < (r + 1) * rs; i++) {
                    x0[i] = cOut[r] * ((x[i] - b[r] * eps[i]) / a[r]) + cSkip[r] * x[i];
                }
            }
            float[] buffer = new float[rs];
            for (int i = 0; i < rs; i++) buffer[i] = a[1] * x0[i] + b[1] * noise.data()[rs + i];
            float[] last = java.util.Arrays.copyOfRange(x0, rs, 2 * rs);
            assertClose("call " + call + " output (row 1)", out.data(), last, 1e-6);
            assertClose("call " + call + " buffer (row 0 re-noised)", s.latentBuffer().data(), buffer, 1e-6);
        }
    }
}
