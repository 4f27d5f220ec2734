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
import org.softmax4j.Softmax;
import org.softmax4j.Tensor;

/**
 * Benchmarks of a softmax over dimension 1 of a {@code [n, c, s]} tensor (the class dimension of a
 * detection head or a segmentation map), on four 64-byte aligned native segments allocated, filled
 * and touched once per trial. {@code softmax} has run forward into {@code yt}; {@code twin} is the
 * same softmaxes laid out along the last dimension ({@code [n * s, c]}), for the cost of the stride.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public abstract class DimTensors {
    @Param({"32x81x8732", "64x1000x16"})
    public String shape;

    protected long n;
    protected long c;
    protected long s;
    protected Arena arena;
    protected Tensor xt;
    protected Tensor yt;
    protected Tensor gyt;
    protected Tensor gxt;
    protected Tensor twinX;
    protected Tensor twinY;
    protected Softmax softmax;

    @Setup(Level.Trial)
    public final void allocate() throws Exception {
        String[] parts = shape.split("x");
        n = Long.parseLong(parts[0]);
        c = Long.parseLong(parts[1]);
        s = Long.parseLong(parts[2]);
        int numel = Math.toIntExact(n * c * s);
        arena = Arena.ofConfined();
        MemorySegment x = segment(TestData.logits(numel, 1));
        MemorySegment y = segment(new float[numel]);
        xt = Tensor.wrap(x, n, c, s);
        yt = Tensor.wrap(y, n, c, s);
        gyt = Tensor.wrap(segment(TestData.gradients(numel, 2)), n, c, s);
        gxt = Tensor.wrap(segment(new float[numel]), n, c, s);
        twinX = Tensor.wrap(x, n * s, c);
        twinY = Tensor.wrap(y, n * s, c);
        softmax = new Softmax(1);
        softmax.forward(xt, yt);
        check();
    }

    private MemorySegment segment(float[] data) {
        MemorySegment memory = arena.allocate((long) data.length * Float.BYTES, 64);
        MemorySegment.copy(data, 0, memory, JAVA_FLOAT, 0, data.length);
        return memory;
    }

    @TearDown(Level.Trial)
    public final void free() {
        arena.close();
    }

    /** Runs once after the buffers are ready: a baseline compares its output with Softmax4J's here. */
    protected void check() throws Exception {}
}
