package org.softmax4j.jmh;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.softmax4j.Softmax4j;

/**
 * {@link ApiSegmentBench} on buffers that start 16 bytes past a 64-byte boundary, as the data of a
 * {@code float[]} may: what the kernels lose when every 64-byte vector straddles two cache lines.
 */
public class MisalignedSegmentBench extends SegmentRows {
    @Param({"16"})
    public long misalignBytes;

    @Override
    protected long misalignment() {
        return misalignBytes;
    }

    @Benchmark
    public void forward() {
        Softmax4j.logSoftmaxForward(x, y, rows, cols);
    }

    @Benchmark
    public void backward() {
        Softmax4j.logSoftmaxBackward(gy, y, gx, rows, cols);
    }
}
