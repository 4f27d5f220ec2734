package org.softmax4j.jmh;

import org.openjdk.jmh.annotations.Benchmark;

/** Baseline: {@link JavaLoopLogSoftmax} on heap arrays. */
public class JavaLoopBench extends HeapRows {

    @Override
    protected void check() {
        float[] out = new float[x.length];
        JavaLoopLogSoftmax.forward(x, out, rows, cols);
        TestData.requireClose("java loop forward", y, out);
        JavaLoopLogSoftmax.backward(gy, y, out, rows, cols);
        TestData.requireClose("java loop backward", expectedBackward(), out);
    }

    @Benchmark
    public void forward() {
        JavaLoopLogSoftmax.forward(x, y, rows, cols);
    }

    @Benchmark
    public void backward() {
        JavaLoopLogSoftmax.backward(gy, y, gx, rows, cols);
    }
}
