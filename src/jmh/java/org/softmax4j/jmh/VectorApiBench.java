package org.softmax4j.jmh;

import org.openjdk.jmh.annotations.Benchmark;

/** Baseline: {@link VectorApiLogSoftmax} on heap arrays. */
public class VectorApiBench extends HeapRows {

    @Override
    protected void check() {
        float[] out = new float[x.length];
        VectorApiLogSoftmax.forward(x, out, rows, cols);
        TestData.requireClose("vector API forward", y, out);
        VectorApiLogSoftmax.backward(gy, y, out, rows, cols);
        TestData.requireClose("vector API backward", expectedBackward(), out);
    }

    @Benchmark
    public void forward() {
        VectorApiLogSoftmax.forward(x, y, rows, cols);
    }

    @Benchmark
    public void backward() {
        VectorApiLogSoftmax.backward(gy, y, gx, rows, cols);
    }
}
