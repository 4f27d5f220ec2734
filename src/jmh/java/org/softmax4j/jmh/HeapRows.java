package org.softmax4j.jmh;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.softmax4j.Softmax4j;

/**
 * Benchmarks over heap {@code float[]} arrays, allocated and filled once per trial and reused by
 * every call: {@code x -> y} forward, {@code (gy, y) -> gx} backward, where {@code y} already holds
 * the log-softmax of {@code x} from Softmax4J.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules=jdk.incubator.vector"})
public abstract class HeapRows {
    @Param({"1x10", "1x1000", "64x1000", "1x32000", "256x32000", "4096x4096"})
    public String shape;

    protected int rows;
    protected int cols;
    protected float[] x;
    protected float[] y;
    protected float[] gy;
    protected float[] gx;

    @Setup(Level.Trial)
    public final void allocate() throws Exception {
        RowShape s = RowShape.parse(shape);
        rows = s.rows();
        cols = s.cols();
        x = TestData.logits(s.numel(), 1);
        gy = TestData.gradients(s.numel(), 2);
        y = new float[s.numel()];
        gx = new float[s.numel()];
        Softmax4j.logSoftmaxForward(x, y, rows, cols);
        check();
    }

    /** Runs once after the buffers are ready: a baseline compares its output with Softmax4J's here. */
    protected void check() throws Exception {}

    /** Softmax4J's backward of {@code gy} into a new array, the reference for baselines. */
    protected final float[] expectedBackward() {
        float[] expected = new float[gy.length];
        Softmax4j.logSoftmaxBackward(gy, y, expected, rows, cols);
        return expected;
    }
}
