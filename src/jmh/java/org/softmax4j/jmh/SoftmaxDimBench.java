package org.softmax4j.jmh;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.Level;
import org.softmax4j.LogSoftmax;
import org.softmax4j.Softmax;
import org.softmax4j.Tensor;

/**
 * Softmax4J's {@code Softmax} and {@code LogSoftmax} over dimension 1, forward into reused outputs
 * and backward, and the softmax of the same numbers laid out along the last dimension
 * ({@code twinForward}): the price of reducing across a stride instead of along a row.
 */
public class SoftmaxDimBench extends DimTensors {
    private LogSoftmax logSoftmax;
    private Softmax twin;

    @Setup(Level.Trial)
    public void ops() {
        logSoftmax = new LogSoftmax(1);
        logSoftmax.forward(xt, gxt);
        twin = new Softmax(-1);
    }

    @Benchmark
    public Tensor softmaxForward() {
        return softmax.forward(xt, yt);
    }

    @Benchmark
    public Tensor softmaxBackward() {
        return softmax.backward(gyt, gxt);
    }

    @Benchmark
    public Tensor logSoftmaxForward() {
        return logSoftmax.forward(xt, gxt);
    }

    @Benchmark
    public Tensor twinForward() {
        return twin.forward(twinX, twinY);
    }
}
