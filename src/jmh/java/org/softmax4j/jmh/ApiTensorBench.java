package org.softmax4j.jmh;

import org.openjdk.jmh.annotations.Benchmark;
import org.softmax4j.Tensor;

/**
 * The {@code LogSoftmax} op on native tensors, writing into reused outputs as a server would:
 * {@code forward(x, out)} (which also saves {@code out}) and {@code backward(gradOutput, gradInput)}.
 */
public class ApiTensorBench extends SegmentRows {

    @Benchmark
    public Tensor forward() {
        return op.forward(xt, yt);
    }

    @Benchmark
    public Tensor backward() {
        return op.backward(gyt, gxt);
    }
}
