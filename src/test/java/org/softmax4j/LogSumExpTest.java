package org.softmax4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.softmax4j.Softmax4jChecksTest.rejects;

import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The LogSumExp op: shapes, dims, the gradient against finite differences, every floating dtype,
 * bad input.
 */
class LogSumExpTest {
    @Test
    void reducesTheChosenDimensionByHand() {
        try (Arena arena = Arena.ofConfined()) {
            // [2, 3]: rows (1, 1, 1) and (0, ln 2, ln 3)
            float ln2 = (float) Math.log(2);
            float ln3 = (float) Math.log(3);
            Tensor x = Tensor.copyOf(arena, new float[] {1, 1, 1, 0, ln2, ln3}, 2, 3);
            Tensor rows = new LogSumExp(-1).forward(x, arena);
            assertEquals(Shape.of(2), rows.shape());
            assertEquals(1 + Math.log(3), rows.get(0), 1e-6);
            assertEquals(Math.log(6), rows.get(1), 1e-6);
            Tensor cols = new LogSumExp(0).forward(x, arena);
            assertEquals(Shape.of(3), cols.shape());
            assertEquals(Math.log(Math.E + 1), cols.get(0), 1e-6);
            assertEquals(Math.log(Math.E + 2), cols.get(1), 1e-6);
            assertEquals(Math.log(Math.E + 3), cols.get(2), 1e-6);
            Tensor all = new LogSumExp().forward(Tensor.copyOf(arena, new float[] {0, 0, 0, 0}, 4), arena);
            assertEquals(Shape.of(1), all.shape());
            assertEquals(Math.log(4), all.get(0), 1e-6);
        }
    }

    /** float64, bfloat16 and float16 through the op: outputs and gradients in the input's dtype. */
    @Test
    void everyFloatingDtypeThroughTheOp() {
        Random random = new Random(5);
        try (Arena arena = Arena.ofConfined()) {
            for (DType dtype : new DType[] {DType.FLOAT64, DType.BFLOAT16, DType.FLOAT16}) {
                Tensor x = Tensor.allocate(arena, dtype, 2, 3, 4);
                for (int i = 0; i < 24; i++) {
                    x.setDouble(random.nextDouble(-3, 3), i / 12, i / 4 % 3, i % 4);
                }
                LogSumExp op = new LogSumExp(1);
                Tensor out = op.forward(x, arena);
                assertEquals(dtype, out.dtype());
                assertEquals(Shape.of(2, 4), out.shape());
                Tensor gy = Tensor.allocate(arena, dtype, 2, 4);
                for (int i = 0; i < 8; i++) {
                    gy.setDouble(random.nextDouble(-1, 1), i / 4, i % 4);
                }
                Tensor gx = op.backward(gy, arena);
                assertEquals(dtype, gx.dtype());
                assertEquals(x.shape(), gx.shape());
                // One ulp of the format (2^-7 or 2^-10 relative), 1e-14 for float64.
                double relative = dtype == DType.FLOAT64 ? 1e-14 : dtype == DType.BFLOAT16 ? 0x1p-7 : 0x1p-10;
                for (int o = 0; o < 2; o++) {
                    for (int j = 0; j < 4; j++) {
                        double max = Double.NEGATIVE_INFINITY;
                        for (int c = 0; c < 3; c++) {
                            max = Math.max(max, x.getDouble(o, c, j));
                        }
                        double sum = 0;
                        for (int c = 0; c < 3; c++) {
                            sum += Math.exp(x.getDouble(o, c, j) - max);
                        }
                        double lse = max + Math.log(sum);
                        assertEquals(lse, out.getDouble(o, j), relative * Math.max(1, Math.abs(lse)), dtype + " forward");
                        for (int c = 0; c < 3; c++) {
                            double want = gy.getDouble(o, j) * Math.exp(x.getDouble(o, c, j) - max) / sum;
                            assertEquals(want, gx.getDouble(o, c, j), relative * Math.abs(want) + 1e-300,
                                    dtype + " backward");
                        }
                    }
                }
            }
        }
    }

    @Test
    void mixedDtypesAreRefusedByName() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = Tensor.allocate(arena, DType.FLOAT64, 2, 3);
            float[] sentinels = Softmax4jChecksTest.sentinels(2);
            rejects(IllegalArgumentException.class, "out has dtype float32, must be float64 like x",
                    () -> new LogSumExp().forward(x, Tensor.wrap(sentinels, 2)), sentinels);
            Tensor half = Tensor.allocate(arena, DType.BFLOAT16, 2, 3);
            rejects(IllegalArgumentException.class, "out has dtype float16, must be bfloat16 like x",
                    () -> new LogSumExp().forward(half, Tensor.allocate(arena, DType.FLOAT16, 2)));
            LogSumExp op = new LogSumExp();
            op.forward(x, arena);
            rejects(IllegalArgumentException.class, "gradOutput has dtype bfloat16, must be float64 like the saved input",
                    () -> op.backward(Tensor.allocate(arena, DType.BFLOAT16, 2), arena));
            rejects(IllegalArgumentException.class, "gradOutput has dtype float32, must be float64 like the saved input",
                    () -> op.backward(Tensor.allocate(arena, 2), Tensor.allocate(arena, DType.FLOAT64, 2, 3)));
            float[] grad = Softmax4jChecksTest.sentinels(6);
            rejects(IllegalArgumentException.class, "gradInput has dtype float32, must be float64 like the saved input",
                    () -> op.backward(Tensor.allocate(arena, DType.FLOAT64, 2), Tensor.wrap(grad, 2, 3)), grad);
            rejects(IllegalArgumentException.class, "x must be float32, float64, bfloat16 or float16, was int64",
                    () -> new LogSumExp().forward(Tensor.wrap(new long[] {1, 2}, 2), arena));
        }
    }

    @Test
    void backwardIsTheDerivativeOfForward() {
        Random random = new Random(11);
        for (int dim : new int[] {0, 1, 2, -1}) {
            try (Arena arena = Arena.ofConfined()) {
                float[] xs = new float[2 * 5 * 3];
                for (int i = 0; i < xs.length; i++) {
                    xs[i] = random.nextFloat(-3, 3);
                }
                Tensor x = Tensor.copyOf(arena, xs, 2, 5, 3);
                LogSumExp op = new LogSumExp(dim);
                Tensor out = op.forward(x, arena);
                float[] w = new float[(int) out.numel()];
                for (int i = 0; i < w.length; i++) {
                    w[i] = random.nextFloat(-1, 1);
                }
                float[] grad = op.backward(Tensor.copyOf(arena, w, out.shape().dims()), arena).toArray();
                float h = 0x1p-6f;
                for (int i = 0; i < xs.length; i++) {
                    float xi = xs[i];
                    xs[i] = xi + h;
                    double plus = weighted(dim, xs, w, arena);
                    xs[i] = xi - h;
                    double minus = weighted(dim, xs, w, arena);
                    xs[i] = xi;
                    double fd = (plus - minus) / (2 * h);
                    assertEquals(fd, grad[i], 2e-3, "dim " + dim + ", element " + i);
                }
            }
        }
    }

    private static double weighted(int dim, float[] xs, float[] w, Arena arena) {
        float[] out = new LogSumExp(dim).forward(Tensor.copyOf(arena, xs, 2, 5, 3), arena).toArray();
        double sum = 0;
        for (int i = 0; i < out.length; i++) {
            sum += (double) w[i] * out[i];
        }
        return sum;
    }

    @Test
    void writesIntoCallerOutputsAndSavesTheInput() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = Tensor.copyOf(arena, new float[] {0, 0, 5, 5}, 2, 2);
            LogSumExp op = new LogSumExp();
            Tensor out = Tensor.allocate(arena, 2);
            assertSame(out, op.forward(x, out));
            assertSame(x, op.savedInput());
            Tensor gradInput = Tensor.allocate(arena, 2, 2);
            assertSame(gradInput, op.backward(Tensor.copyOf(arena, new float[] {2, 4}, 2), gradInput));
            assertArrayEquals(new float[] {1, 1, 2, 2}, gradInput.toArray(), 1e-6f);
        }
    }

    @Test
    void badInputIsRejectedBeforeAnyWrite() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = Tensor.copyOf(arena, new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
            float[] sentinels = Softmax4jChecksTest.sentinels(3);
            Tensor wrong = Tensor.wrap(sentinels, 3);
            rejects(IllegalArgumentException.class, "out must have shape [2], was [3]",
                    () -> new LogSumExp().forward(x, wrong), sentinels);
            rejects(IllegalArgumentException.class, "dim must be in [-2, 1] for rank 2, was 2",
                    () -> new LogSumExp(2).forward(x, arena));
            rejects(IllegalStateException.class, "backward called before forward",
                    () -> new LogSumExp().backward(Tensor.allocate(arena, 2), arena));
            LogSumExp op = new LogSumExp();
            op.forward(x, arena);
            float[] grad = Softmax4jChecksTest.sentinels(6);
            rejects(IllegalArgumentException.class, "gradOutput must have shape [2], was [3]",
                    () -> op.backward(Tensor.allocate(arena, 3), Tensor.wrap(grad, 2, 3)), grad);
            rejects(IllegalArgumentException.class, "gradInput overlaps the saved input",
                    () -> op.backward(Tensor.allocate(arena, 2), x));
            rejects(IllegalArgumentException.class, "x must be float32",
                    () -> new LogSumExp().forward(Tensor.wrap(new int[] {1, 2}, 2), arena));
            float[] kept = Softmax4jChecksTest.sentinels(2);
            Tensor readOnly = Tensor.wrap(java.lang.foreign.MemorySegment.ofArray(kept).asReadOnly(), 2);
            rejects(IllegalArgumentException.class, "out is read-only",
                    () -> new LogSumExp().forward(x, readOnly), kept);
            rejects(IllegalArgumentException.class, "x is a view with strided rows",
                    () -> new LogSumExp().forward(x.narrow(-1, 0, 2), arena));
        }
        Tensor closed;
        try (Arena arena = Arena.ofConfined()) {
            closed = Tensor.allocate(arena, 2, 2);
        }
        Tensor input = closed;
        rejects(IllegalStateException.class, "x: its arena is closed", () -> new LogSumExp().forward(input,
                Tensor.wrap(new float[2], 2)));
    }

    @Test
    void specialValuesThroughTheOp() {
        try (Arena arena = Arena.ofConfined()) {
            float inf = Float.POSITIVE_INFINITY;
            Tensor x = Tensor.copyOf(arena, new float[] {-inf, -inf, 1, inf, 0, Float.NaN}, 3, 2);
            float[] out = new LogSumExp().forward(x, arena).toArray();
            assertEquals(-inf, out[0]);
            assertEquals(inf, out[1]);
            assertTrue(Float.isNaN(out[2]));
        }
    }
}
