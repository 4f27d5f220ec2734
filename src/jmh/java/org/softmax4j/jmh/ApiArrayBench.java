package org.softmax4j.jmh;

import org.openjdk.jmh.annotations.Benchmark;
import org.softmax4j.Softmax4j;

/** The public static entries on heap {@code float[]}: native kernels through a critical call, no copy. */
public class ApiArrayBench extends HeapRows {

    @Benchmark
    public void forward() {
        Softmax4j.logSoftmaxForward(x, y, rows, cols);
    }

    @Benchmark
    public void backward() {
        Softmax4j.logSoftmaxBackward(gy, y, gx, rows, cols);
    }
}
