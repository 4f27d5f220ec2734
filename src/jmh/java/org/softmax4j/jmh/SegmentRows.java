package org.softmax4j.jmh;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.softmax4j.LogSoftmax;
import org.softmax4j.Softmax4j;
import org.softmax4j.Tensor;

/**
 * Benchmarks over off-heap memory: four 64-byte aligned segments (unless {@link #misalignment()}
 * says otherwise) from a confined arena (JMH runs
 * the trial setup on the benchmark thread), allocated, filled and touched once per trial, with the
 * same contents as {@link HeapRows}. {@code op} has run forward into {@code yt}, so backward can
 * run at once.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules=jdk.incubator.vector"})
public abstract class SegmentRows {
    @Param({"1x10", "1x1000", "64x1000", "1x32000", "256x32000", "4096x4096"})
    public String shape;

    protected long rows;
    protected long cols;
    protected Arena arena;
    protected MemorySegment x;
    protected MemorySegment y;
    protected MemorySegment gy;
    protected MemorySegment gx;
    protected Tensor xt;
    protected Tensor yt;
    protected Tensor gyt;
    protected Tensor gxt;
    protected LogSoftmax op;

    @Setup(Level.Trial)
    public final void allocate() throws Exception {
        RowShape s = RowShape.parse(shape);
        rows = s.rows();
        cols = s.cols();
        arena = Arena.ofConfined();
        xt = tensor(TestData.logits(s.numel(), 1));
        gyt = tensor(TestData.gradients(s.numel(), 2));
        // Zero-filled, so every page is touched before timing starts.
        yt = tensor(new float[s.numel()]);
        gxt = tensor(new float[s.numel()]);
        x = xt.segment();
        y = yt.segment();
        gy = gyt.segment();
        gx = gxt.segment();
        op = new LogSoftmax();
        op.forward(xt, yt);
        check();
    }

    /**
     * How far past a 64-byte boundary every buffer starts: 0 here, as {@code Tensor.allocate} gives;
     * a subclass can shift them to see what misaligned memory costs.
     */
    protected long misalignment() {
        return 0;
    }

    private Tensor tensor(float[] data) {
        long bytes = (long) data.length * Float.BYTES;
        MemorySegment memory = arena.allocate(bytes + 64, 64).asSlice(misalignment(), bytes);
        MemorySegment.copy(data, 0, memory, JAVA_FLOAT, 0, data.length);
        return Tensor.wrap(memory, rows, cols);
    }

    @TearDown(Level.Trial)
    public final void free() {
        arena.close();
    }

    /** Runs once after the buffers are ready: a baseline compares its output with Softmax4J's here. */
    protected void check() throws Exception {}

    /** Softmax4J's forward of {@code x}, the reference for baselines. */
    protected final float[] expectedForward() {
        return y.toArray(JAVA_FLOAT);
    }

    /** Softmax4J's backward of {@code gy}, the reference for baselines. */
    protected final float[] expectedBackward() {
        float[] expected = new float[(int) (rows * cols)];
        Softmax4j.logSoftmaxBackward(gy.toArray(JAVA_FLOAT), expectedForward(), expected, (int) rows, (int) cols);
        return expected;
    }
}
