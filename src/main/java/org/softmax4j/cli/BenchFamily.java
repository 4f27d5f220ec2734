package org.softmax4j.cli;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.function.BiConsumer;
import org.softmax4j.CrossEntropy;
import org.softmax4j.DType;
import org.softmax4j.LogSoftmax;
import org.softmax4j.Softmax;
import org.softmax4j.Tensor;
import org.softmax4j.internal.HalfFloats;

/**
 * The {@code bench} command's second table: the rest of the family through the public API.
 * Softmax and log-softmax over a middle dimension, each against the same op over the last
 * dimension of the same softmaxes laid out contiguously ({@code [outer, dim, inner]} over dim 1
 * against {@code [outer * inner, dim]} over dim -1: the same work with and without the stride),
 * and the fused cross-entropy against log-softmax on the same logits.
 *
 * <p>The buffers are allocated and touched once, before any timing, and shared by every case.
 */
final class BenchFamily {
    /** A tensor shape, the dimension reduced, and its contiguous twin. */
    record DimCase(long outer, long dim, long inner) {
        long elements() {
            return outer * dim * inner;
        }

        String name() {
            return "[" + outer + "," + dim + "," + inner + "] dim 1";
        }
    }

    /**
     * Per-call median times of one op on one case and of its twin, and the twin's time over the op's
     * (medians over rounds that timed both).
     */
    record Row(String name, String op, double forward, double backward, double twinForward,
            double twinBackward, double forwardVsTwin, double backwardVsTwin, long elements) {}

    static final List<DimCase> DIM_CASES = List.of(new DimCase(32, 81, 8732), new DimCase(64, 1000, 16));
    static final long[][] LOSS_CASES = {{256, 32000}, {4096, 1000}};
    /** 8 Mi elements: 64 MiB in float64, 16 MiB in the 16-bit types. */
    static final long[] DTYPE_SHAPE = {2048, 4096};

    private BenchFamily() {}

    static List<Row> measure(PrintStream err) {
        long max = DIM_CASES.stream().mapToLong(DimCase::elements).max().orElseThrow();
        for (long[] c : LOSS_CASES) {
            max = Math.max(max, c[0] * c[1]);
        }
        List<Row> rows = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            long dtypeElements = DTYPE_SHAPE[0] * DTYPE_SHAPE[1];
            err.printf("family: allocating and touching %d MiB of buffers...%n",
                    (4 * 4 * max + 4 * Double.BYTES * dtypeElements) >> 20);
            MemorySegment x = filled(arena, max, 1);
            MemorySegment y = arena.allocate(max * Float.BYTES, 64).fill((byte) 0);
            MemorySegment gy = filled(arena, max, 2);
            MemorySegment gx = arena.allocate(max * Float.BYTES, 64).fill((byte) 0);
            // The other dtypes' tensors, beside the float32 ones their twins use.
            MemorySegment dx = arena.allocate(dtypeElements * Double.BYTES, 64).fill((byte) 0);
            MemorySegment dy = arena.allocate(dtypeElements * Double.BYTES, 64).fill((byte) 0);
            MemorySegment dgy = arena.allocate(dtypeElements * Double.BYTES, 64).fill((byte) 0);
            MemorySegment dgx = arena.allocate(dtypeElements * Double.BYTES, 64).fill((byte) 0);
            for (DimCase c : DIM_CASES) {
                err.printf("family: %s%n", c.name());
                long n = c.elements();
                long[] shape = {c.outer(), c.dim(), c.inner()};
                long[] twin = {c.outer() * c.inner(), c.dim()};
                Softmax softmax = new Softmax(1);
                Softmax softmaxTwin = new Softmax(-1);
                rows.add(row(c.name(), "softmax", n, new Calls(softmax::forward, softmax::backward),
                        new Calls(softmaxTwin::forward, softmaxTwin::backward), shape, twin, x, y, gy, gx));
                LogSoftmax logSoftmax = new LogSoftmax(1);
                LogSoftmax logSoftmaxTwin = new LogSoftmax(-1);
                rows.add(row(c.name(), "log_softmax", n, new Calls(logSoftmax::forward, logSoftmax::backward),
                        new Calls(logSoftmaxTwin::forward, logSoftmaxTwin::backward), shape, twin, x, y, gy, gx));
            }
            for (long[] c : LOSS_CASES) {
                String name = "[" + c[0] + "," + c[1] + "]";
                err.printf("family: cross-entropy %s%n", name);
                rows.add(lossRow(name, c[0], c[1], arena, x, y, gy, gx));
            }
            for (DType dtype : new DType[] {DType.FLOAT64, DType.BFLOAT16, DType.FLOAT16}) {
                err.printf("family: %s%n", dtype);
                rows.addAll(dtypeRows(dtype, x, y, gy, gx, dx, dy, dgy, dgx));
            }
        }
        return rows;
    }

    static void print(PrintStream out, List<Row> rows) {
        out.println("The rest of the family, through the public API (median time per call). A middle dimension is");
        out.println("compared with the same softmaxes laid out along the last dimension ('twin' = [outer*inner, dim]");
        out.println("over dim -1); cross-entropy (mean over class indices) with log-softmax on the same logits;");
        out.println("other dtypes with the same op in float32 on as many elements.");
        out.println();
        String header = String.format(Locale.ROOT, "%-26s %-13s | %10s %7s %10s %7s | %10s %7s %10s %7s",
                "case", "op", "forward", "el/ns", "twin", "ratio", "backward", "el/ns", "twin", "ratio");
        out.println(header);
        out.println("-".repeat(header.length()));
        for (Row r : rows) {
            out.println(String.format(Locale.ROOT, "%-26s %-13s | %10s %7.2f %10s %7.2f | %10s %7.2f %10s %7.2f",
                    r.name(), r.op(),
                    BenchCommand.time(r.forward()), r.elements() / r.forward(), BenchCommand.time(r.twinForward()),
                    r.forwardVsTwin(),
                    BenchCommand.time(r.backward()), r.elements() / r.backward(),
                    BenchCommand.time(r.twinBackward()), r.backwardVsTwin()));
        }
        out.println("(ratio = twin time / time, the median over rounds that timed both: 1 means as fast as the twin)");
    }

    /**
     * Log-softmax and softmax on {@link #DTYPE_SHAPE} in {@code dtype} (on d*, converted from the
     * float32 x and gy), against the same op in float32 on the same elements (the twin, on x, y, gy,
     * gx).
     */
    private static List<Row> dtypeRows(DType dtype, MemorySegment x, MemorySegment y, MemorySegment gy,
            MemorySegment gx, MemorySegment dx, MemorySegment dy, MemorySegment dgy, MemorySegment dgx) {
        long rows = DTYPE_SHAPE[0];
        long cols = DTYPE_SHAPE[1];
        long n = rows * cols;
        long[] shape = {rows, cols};
        long floatBytes = n * Float.BYTES;
        Tensor wx = Tensor.wrap(x.asSlice(0, floatBytes), shape);
        Tensor wy = Tensor.wrap(y.asSlice(0, floatBytes), shape);
        Tensor wgy = Tensor.wrap(gy.asSlice(0, floatBytes), shape);
        Tensor wgx = Tensor.wrap(gx.asSlice(0, floatBytes), shape);
        convert(dtype, x, dx, n, 1);
        convert(dtype, gy, dgy, n, 8); // gradients in [-1, 1)
        long bytes = n * dtype.byteSize();
        Tensor tx = Tensor.wrap(dx.asSlice(0, bytes), dtype, shape);
        Tensor ty = Tensor.wrap(dy.asSlice(0, bytes), dtype, shape);
        Tensor tgy = Tensor.wrap(dgy.asSlice(0, bytes), dtype, shape);
        Tensor tgx = Tensor.wrap(dgx.asSlice(0, bytes), dtype, shape);
        String name = "[" + rows + "," + cols + "] " + dtype;
        Softmax softmax = new Softmax();
        Softmax softmaxTwin = new Softmax();
        LogSoftmax logSoftmax = new LogSoftmax();
        LogSoftmax logSoftmaxTwin = new LogSoftmax();
        return List.of(
                timed(name, "softmax", n, new Calls(softmax::forward, softmax::backward),
                        new Calls(softmaxTwin::forward, softmaxTwin::backward), tx, ty, tgy, tgx, wx, wy, wgy, wgx),
                timed(name, "log_softmax", n, new Calls(logSoftmax::forward, logSoftmax::backward),
                        new Calls(logSoftmaxTwin::forward, logSoftmaxTwin::backward), tx, ty, tgy, tgx,
                        wx, wy, wgy, wgx));
    }

    /**
     * The first n floats of {@code from}, divided by {@code scale}, written to {@code to} as
     * {@code dtype} (rounded to nearest even for the 16-bit types).
     */
    private static void convert(DType dtype, MemorySegment from, MemorySegment to, long n, float scale) {
        for (long i = 0; i < n; i++) {
            float v = from.getAtIndex(JAVA_FLOAT, i) / scale;
            switch (dtype) {
                case FLOAT64 -> to.setAtIndex(ValueLayout.JAVA_DOUBLE, i, v);
                case BFLOAT16 -> to.setAtIndex(ValueLayout.JAVA_SHORT, i, HalfFloats.floatToBfloat16(v));
                default -> to.setAtIndex(ValueLayout.JAVA_SHORT, i, Float.floatToFloat16(v));
            }
        }
    }

    /** An op's forward (x into y) and backward (gy into gx, from the saved output). */
    private record Calls(BiConsumer<Tensor, Tensor> forward, BiConsumer<Tensor, Tensor> backward) {}

    private static Row row(String name, String op, long n, Calls strided, Calls contiguous, long[] shape,
            long[] twinShape, MemorySegment x, MemorySegment y, MemorySegment gy, MemorySegment gx) {
        long bytes = n * Float.BYTES;
        return timed(name, op, n, strided, contiguous,
                Tensor.wrap(x.asSlice(0, bytes), shape), Tensor.wrap(y.asSlice(0, bytes), shape),
                Tensor.wrap(gy.asSlice(0, bytes), shape), Tensor.wrap(gx.asSlice(0, bytes), shape),
                Tensor.wrap(x.asSlice(0, bytes), twinShape), Tensor.wrap(y.asSlice(0, bytes), twinShape),
                Tensor.wrap(gy.asSlice(0, bytes), twinShape), Tensor.wrap(gx.asSlice(0, bytes), twinShape));
    }

    /**
     * An op's forward and backward on (tx, ty, tgy, tgx) and its twin's on (wx, wy, wgy, wgx): the
     * two forwards in one set of rounds, then the two backwards in another.
     */
    private static Row timed(String name, String op, long n, Calls calls, Calls twin, Tensor tx, Tensor ty,
            Tensor tgy, Tensor tgx, Tensor wx, Tensor wy, Tensor wgy, Tensor wgx) {
        return paired(name, op, n,
                k -> {
                    for (int i = 0; i < k; i++) {
                        calls.forward().accept(tx, ty);
                    }
                },
                k -> {
                    for (int i = 0; i < k; i++) {
                        twin.forward().accept(wx, wy);
                    }
                },
                k -> {
                    for (int i = 0; i < k; i++) {
                        calls.backward().accept(tgy, tgx);
                    }
                },
                k -> {
                    for (int i = 0; i < k; i++) {
                        twin.backward().accept(wgy, wgx);
                    }
                });
    }

    /** A row from an op's forward and backward and its twin's, each pass with its twin in the same rounds. */
    private static Row paired(String name, String op, long n, BenchTimer.Calls forward, BenchTimer.Calls twinForward,
            BenchTimer.Calls backward, BenchTimer.Calls twinBackward) {
        double[][] f = BenchTimer.rounds(List.of(forward, twinForward));
        double[][] g = BenchTimer.rounds(List.of(backward, twinBackward));
        return new Row(name, op, BenchTimer.median(f[0]), BenchTimer.median(g[0]), BenchTimer.median(f[1]),
                BenchTimer.median(g[1]), BenchTimer.medianRatio(f[1], f[0]), BenchTimer.medianRatio(g[1], g[0]), n);
    }

    private static Row lossRow(String name, long rows, long cols, Arena arena, MemorySegment x, MemorySegment y,
            MemorySegment gy, MemorySegment gx) {
        long bytes = rows * cols * Float.BYTES;
        Tensor logits = Tensor.wrap(x.asSlice(0, bytes), rows, cols);
        Tensor grad = Tensor.wrap(gx.asSlice(0, bytes), rows, cols);
        int[] labels = new int[Math.toIntExact(rows)];
        Random random = new Random(3);
        for (int i = 0; i < labels.length; i++) {
            labels[i] = random.nextInt(Math.toIntExact(cols));
        }
        Tensor target = Tensor.copyOf(arena, labels, rows);
        Tensor loss = Tensor.allocate(arena, 1);
        CrossEntropy crossEntropy = new CrossEntropy();
        crossEntropy.forward(logits, target, loss);
        LogSoftmax logSoftmax = new LogSoftmax();
        Tensor logProbs = Tensor.wrap(y.asSlice(0, bytes), rows, cols);
        Tensor gradLogProbs = Tensor.wrap(gy.asSlice(0, bytes), rows, cols);
        logSoftmax.forward(logits, logProbs);
        return paired(name, "cross_entropy", rows * cols,
                k -> {
                    for (int i = 0; i < k; i++) {
                        crossEntropy.forward(logits, target, loss);
                    }
                },
                k -> {
                    for (int i = 0; i < k; i++) {
                        logSoftmax.forward(logits, logProbs);
                    }
                },
                k -> {
                    for (int i = 0; i < k; i++) {
                        crossEntropy.backward(1f, grad);
                    }
                },
                k -> {
                    for (int i = 0; i < k; i++) {
                        logSoftmax.backward(gradLogProbs, grad);
                    }
                });
    }

    /** Values in [-8, 8) from a fixed seed: logits, or gradients. */
    private static MemorySegment filled(Arena arena, long n, long seed) {
        MemorySegment segment = arena.allocate(n * Float.BYTES, 64);
        Random random = new Random(seed);
        for (long i = 0; i < n; i++) {
            segment.setAtIndex(JAVA_FLOAT, i, random.nextFloat(-8, 8));
        }
        return segment;
    }
}
