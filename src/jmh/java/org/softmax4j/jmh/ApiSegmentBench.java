package org.softmax4j.jmh;

import org.openjdk.jmh.annotations.Benchmark;
import org.softmax4j.Softmax4j;

/** The public static entries on native memory segments. */
public class ApiSegmentBench extends SegmentRows {

    @Benchmark
    public void forward() {
        Softmax4j.logSoftmaxForward(x, y, rows, cols);
    }

    @Benchmark
    public void backward() {
        Softmax4j.logSoftmaxBackward(gy, y, gx, rows, cols);
    }
}
