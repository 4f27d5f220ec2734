package org.softmax4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.softmax4j.internal.HalfFloats;

/**
 * The public API in float64, bfloat16 and float16: tensors over {@code double[]}, {@code short[]}
 * and segments, {@link LogSoftmax} and {@link Softmax} over any dimension, the dtype rules (outputs
 * and gradients of the input's type, messages naming the argument, outputs untouched when
 * rejected), and the float32-only ops' messages.
 */
class DTypeOpsTest {

    @Test
    void float64LogSoftmaxOverEveryDimensionOfAHeapArray() {
        double[] data = new double[2 * 3 * 4];
        SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < data.length; i++) {
            data[i] = random.nextDouble(-20, 20);
        }
        Tensor x = Tensor.wrap(data, 2, 3, 4);
        assertEquals(DType.FLOAT64, x.dtype());
        for (int dim = -3; dim < 3; dim++) {
            try (Arena arena = Arena.ofConfined()) {
                LogSoftmax op = new LogSoftmax(dim);
                Tensor y = op.forward(x, arena);
                assertEquals(DType.FLOAT64, y.dtype());
                int d = Math.floorMod(dim, 3);
                // Each slice along d sums to 1 in probability space, to double accuracy.
                long[] sizes = {2, 3, 4};
                for (long a = 0; a < 2; a++) {
                    for (long b = 0; b < 3; b++) {
                        for (long c = 0; c < 4; c++) {
                            long[] index = {a, b, c};
                            if (index[d] != 0) {
                                continue;
                            }
                            double sum = 0;
                            for (long k = 0; k < sizes[d]; k++) {
                                index[d] = k;
                                sum += Math.exp(y.getDouble(index));
                            }
                            assertEquals(1.0, sum, 4e-15, "dim " + dim);
                        }
                    }
                }
                Tensor gx = op.backward(Tensor.copyOf(arena, new double[24], 2, 3, 4), arena);
                assertEquals(DType.FLOAT64, gx.dtype());
                assertArrayEquals(new double[24], gx.toDoubleArray());
            }
        }
    }

    @Test
    void bfloat16SoftmaxOfAUniformRowIsExactlyOneIn512() {
        short[] bits = new short[3 * 512];
        Arrays.fill(bits, HalfFloats.floatToBfloat16(2.25f));
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = Tensor.copyOf(arena, bits, DType.BFLOAT16, 3, 512);
            Tensor p = new Softmax().forward(x, arena);
            assertEquals(DType.BFLOAT16, p.dtype());
            for (short v : p.toShortArray()) {
                assertEquals((short) 0x3b00, v);
            }
            Tensor logp = new LogSoftmax(1).forward(Tensor.wrap(bits, DType.BFLOAT16, 3, 512), arena);
            short want = HalfFloats.floatToBfloat16((float) Math.log(1.0 / 512));
            for (short v : logp.toShortArray()) {
                assertEquals(want, v);
            }
            assertEquals(-6.25, logp.getDouble(0, 0)); // log(1/512) = -6.238 rounds to -6.25
        }
    }

    @Test
    void float16OnSegmentsForwardAndBackwardInPlace() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = Tensor.allocate(arena, DType.FLOAT16, 4, 5);
            for (int r = 0; r < 4; r++) {
                for (int c = 0; c < 5; c++) {
                    x.setDouble(r - c * 0.5, r, c);
                }
            }
            Tensor same = Tensor.wrap(x.segment(), DType.FLOAT16, 4, 5);
            Softmax op = new Softmax(0);
            Tensor y = op.forward(x, same); // in place
            assertSame(same, y);
            for (int c = 0; c < 5; c++) {
                double sum = 0;
                for (int r = 0; r < 4; r++) {
                    sum += y.getDouble(r, c);
                }
                assertEquals(1.0, sum, 4 * 0x1p-11);
            }
            Tensor gy = Tensor.allocate(arena, DType.FLOAT16, 4, 5);
            assertSame(gy, op.backward(gy, gy)); // zero gradient in, zero out, in place
            assertArrayEquals(new double[20], gy.toDoubleArray());
        }
    }

    @Test
    void mixedTypesAreRejectedNamingTheArgumentAndLeaveOutputsUntouched() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = Tensor.copyOf(arena, new double[] {1, 2, 3, 4}, 2, 2);
            float[] outData = {7, 7, 7, 7};
            Tensor out = Tensor.wrap(outData, 2, 2);
            LogSoftmax op = new LogSoftmax();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> op.forward(x, out));
            assertEquals("out has dtype float32, must be float64 like x", e.getMessage());
            assertArrayEquals(new float[] {7, 7, 7, 7}, outData);

            Tensor y = op.forward(x, arena);
            short[] gxBits = {9, 9, 9, 9};
            Tensor gx = Tensor.wrap(gxBits, DType.BFLOAT16, 2, 2);
            e = assertThrows(IllegalArgumentException.class, () -> op.backward(Tensor.wrap(new double[4], 2, 2), gx));
            assertEquals("gradInput has dtype bfloat16, must be float64 like the saved output", e.getMessage());
            assertArrayEquals(new short[] {9, 9, 9, 9}, gxBits);
            e = assertThrows(IllegalArgumentException.class,
                    () -> op.backward(Tensor.wrap(new float[4], 2, 2), arena));
            assertEquals("gradOutput has dtype float32, must be float64 like the saved output", e.getMessage());
            assertEquals(DType.FLOAT64, y.dtype());

            e = assertThrows(IllegalArgumentException.class,
                    () -> new Softmax().forward(Tensor.wrap(new int[] {1, 2}, 2), arena));
            assertTrue(e.getMessage().startsWith("x must be float32, float64, bfloat16 or float16, was int32"),
                    e.getMessage());
        }
    }

    @Test
    void float32OnlyOpsSayWhatTheyNeed() {
        try (Arena arena = Arena.ofConfined()) {
            Linear layer = new Linear(arena, 3, 2, new SplittableRandom(1));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> layer.forward(Tensor.wrap(new double[6], 2, 3), arena));
            assertEquals("x must be float32, was float64 [2, 3]", e.getMessage());
        }
    }

    @Test
    void factoriesCheckTheirArguments() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Tensor.wrap(new short[4], DType.FLOAT32, 4));
        assertEquals("dtype must be bfloat16 or float16 for short bits, was float32", e.getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> Tensor.wrap(new double[3], 2, 2));
        try (Arena arena = Arena.ofConfined()) {
            e = assertThrows(IllegalArgumentException.class, () -> Tensor.copyOf(arena, new short[3], DType.FLOAT16, 2, 2));
            assertEquals("data holds 3 shorts, shape [2, 2] needs 4", e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> Tensor.wrap(MemorySegment.ofArray(new float[8]), DType.FLOAT64, 2, 2));
            assertTrue(e.getMessage().contains("heap segment over a double[] for float64, was a heap segment over float[]"),
                    e.getMessage());
            MemorySegment odd = arena.allocate(40, 8).asSlice(4);
            e = assertThrows(IllegalArgumentException.class, () -> Tensor.wrap(odd, DType.FLOAT64, 2));
            assertTrue(e.getMessage().startsWith("segment must be 8-byte aligned for float64"), e.getMessage());
            Tensor b = Tensor.allocate(arena, DType.BFLOAT16, 2);
            b.setDouble(1.00390625, 0); // halfway between 1 and 1 + 2^-7: ties to even, 1
            b.setDouble(1.01171875, 1); // halfway between 1 + 2^-7 and 1 + 2^-6: ties to even, 1 + 2^-6
            assertArrayEquals(new double[] {1.0, 1.015625}, b.toDoubleArray());
            assertEquals("Tensor[2] bfloat16 native", b.toString());
            IllegalStateException s = assertThrows(IllegalStateException.class, () -> b.get(0));
            assertEquals("get: this tensor is bfloat16, not float32", s.getMessage());
        }
    }
}
