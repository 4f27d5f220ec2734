package org.softmax4j.jmh;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
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
import org.softmax4j.DType;
import org.softmax4j.LogSoftmax;
import org.softmax4j.Softmax;
import org.softmax4j.Tensor;
import org.softmax4j.internal.HalfFloats;

/**
 * Softmax4J's {@code LogSoftmax} and {@code Softmax} over the rows of a {@code [2048, 4096]}
 * tensor of each floating dtype ({@code @Param dtype}), forward into a reused output and
 * backward, on native memory allocated and touched once per trial: the cost of each element type
 * against float32 on the same number of elements.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class DTypeBench {
    static final int ROWS = 2048;
    static final int COLS = 4096;

    @Param({"FLOAT32", "FLOAT64", "BFLOAT16", "FLOAT16"})
    public DType dtype;

    private Arena arena;
    private Tensor x;
    private Tensor y;
    private Tensor gy;
    private Tensor gx;
    private LogSoftmax logSoftmax;
    private Softmax softmax;
    private Tensor softmaxOut;

    @Setup(Level.Trial)
    public void allocate() {
        arena = Arena.ofConfined();
        x = tensor(TestData.logits(ROWS * COLS, 1));
        gy = tensor(TestData.gradients(ROWS * COLS, 2));
        y = Tensor.allocate(arena, dtype, ROWS, COLS);
        gx = Tensor.allocate(arena, dtype, ROWS, COLS);
        softmaxOut = Tensor.allocate(arena, dtype, ROWS, COLS);
        logSoftmax = new LogSoftmax();
        logSoftmax.forward(x, y);
        softmax = new Softmax();
        softmax.forward(x, softmaxOut);
    }

    /** The values in {@code dtype}, rounded to nearest even where it is narrower than float. */
    private Tensor tensor(float[] values) {
        Tensor t = Tensor.allocate(arena, dtype, ROWS, COLS);
        MemorySegment memory = t.segment();
        for (int i = 0; i < values.length; i++) {
            switch (dtype) {
                case FLOAT64 -> memory.setAtIndex(JAVA_DOUBLE, i, values[i]);
                case BFLOAT16, FLOAT16 -> memory.setAtIndex(JAVA_SHORT, i, dtype == DType.FLOAT16
                        ? Float.floatToFloat16(values[i])
                        : HalfFloats.floatToBfloat16(values[i]));
                default -> memory.setAtIndex(JAVA_FLOAT, i, values[i]);
            }
        }
        return t;
    }

    @TearDown(Level.Trial)
    public void free() {
        arena.close();
    }

    @Benchmark
    public Tensor logSoftmaxForward() {
        return logSoftmax.forward(x, y);
    }

    @Benchmark
    public Tensor logSoftmaxBackward() {
        return logSoftmax.backward(gy, gx);
    }

    @Benchmark
    public Tensor softmaxForward() {
        return softmax.forward(x, softmaxOut);
    }

    @Benchmark
    public Tensor softmaxBackward() {
        return softmax.backward(gy, gx);
    }
}
