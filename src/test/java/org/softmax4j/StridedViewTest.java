package org.softmax4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.softmax4j.Softmax4jChecksTest.rejects;

import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Views with strided rows: {@link Tensor#narrow}, and the ops that take them or refuse them. */
class StridedViewTest {
    /** A [4, 12] matrix holding 100 * row + col. */
    private static Tensor matrix(Arena arena) {
        float[] v = new float[48];
        for (int i = 0; i < v.length; i++) {
            v[i] = 100 * (i / 12) + i % 12;
        }
        return Tensor.copyOf(arena, v, 4, 12);
    }

    @Test
    void narrowViewsTheSameMemory() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor m = matrix(arena);
            Tensor cols = m.narrow(-1, 2, 5);
            assertEquals(Shape.of(4, 5), cols.shape());
            assertEquals(12, cols.rowStride());
            assertFalse(cols.isContiguous());
            assertEquals(302f, cols.get(3, 0));
            assertArrayEquals(new float[] {2, 3, 4, 5, 6, 102, 103, 104, 105, 106, 202, 203, 204, 205, 206,
                302, 303, 304, 305, 306}, cols.toArray());
            cols.set(-1f, 1, 4);
            assertEquals(-1f, m.get(1, 6));
            Tensor rows = m.narrow(0, 1, 2);
            assertTrue(rows.isContiguous());
            assertEquals(100f, rows.get(0, 0));
            Tensor both = cols.narrow(0, 2, 2);
            assertArrayEquals(new float[] {202, 203, 204, 205, 206, 302, 303, 304, 305, 306}, both.toArray());
            Tensor copy = cols.contiguous(arena);
            assertTrue(copy.isContiguous());
            assertArrayEquals(cols.toArray(), copy.toArray());
            assertSame(m, m.contiguous(arena));
            assertTrue(m.narrow(1, 0, 12).isContiguous());
        }
    }

    @Test
    void narrowRejectsBadRanges() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor m = matrix(arena);
            assertThrows(IndexOutOfBoundsException.class, () -> m.narrow(-1, 8, 5));
            assertThrows(IndexOutOfBoundsException.class, () -> m.narrow(0, -1, 2));
            Tensor cube = Tensor.allocate(arena, 2, 3, 4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> cube.narrow(1, 0, 2));
            assertTrue(e.getMessage().contains("first (0) or the last"), e.getMessage());
            IllegalStateException s = assertThrows(IllegalStateException.class, () -> m.narrow(-1, 0, 3).segment());
            assertTrue(s.getMessage().contains("strided rows"), s.getMessage());
        }
    }

    @Test
    void softmaxAndLogSoftmaxOnViewsMatchTheirContiguousCopies() {
        Random random = new Random(5);
        try (Arena arena = Arena.ofConfined()) {
            float[] values = new float[6 * 40];
            for (int i = 0; i < values.length; i++) {
                values[i] = random.nextFloat(-6, 6);
            }
            Tensor big = Tensor.copyOf(arena, values, 6, 40);
            Tensor x = big.narrow(-1, 3, 29);               // 6 rows of 29, 40 apart
            Tensor packed = x.contiguous(arena);
            for (boolean softmax : new boolean[] {false, true}) {
                Tensor outBig = Tensor.allocate(arena, 6, 32);
                Tensor out = outBig.narrow(-1, 1, 29);       // another stride for the output
                Tensor viaView = softmax ? new Softmax().forward(x, out) : new LogSoftmax().forward(x, out);
                Tensor viaCopy = softmax ? new Softmax().forward(packed, arena) : new LogSoftmax().forward(packed, arena);
                assertArrayEquals(viaCopy.toArray(), viaView.toArray(), 2e-6f);
                for (int r = 0; r < 6; r++) {
                    assertEquals(0f, outBig.get(r, 0), "the gap before row " + r);
                    assertEquals(0f, outBig.get(r, 30), "the gap after row " + r);
                }

                float[] grads = new float[6 * 29];
                for (int i = 0; i < grads.length; i++) {
                    grads[i] = random.nextFloat(-1, 1);
                }
                Object op = softmax ? new Softmax() : new LogSoftmax();
                Tensor y = softmax ? ((Softmax) op).forward(x, arena) : ((LogSoftmax) op).forward(x, arena);
                Tensor gyBig = Tensor.allocate(arena, 6, 50);
                Tensor gy = gyBig.narrow(-1, 10, 29);
                for (int r = 0; r < 6; r++) {
                    for (int c = 0; c < 29; c++) {
                        gy.set(grads[r * 29 + c], r, c);
                    }
                }
                Tensor gx = softmax ? ((Softmax) op).backward(gy, arena) : ((LogSoftmax) op).backward(gy, arena);
                Object ref = softmax ? new Softmax() : new LogSoftmax();
                if (softmax) {
                    ((Softmax) ref).forward(packed, arena);
                } else {
                    ((LogSoftmax) ref).forward(packed, arena);
                }
                Tensor gyPacked = Tensor.copyOf(arena, grads, 6, 29);
                Tensor want = softmax ? ((Softmax) ref).backward(gyPacked, arena) : ((LogSoftmax) ref).backward(gyPacked, arena);
                assertArrayEquals(want.toArray(), gx.toArray(), 2e-6f);
                assertArrayEquals(y.toArray(), softmax ? new Softmax().forward(packed, arena).toArray()
                        : new LogSoftmax().forward(packed, arena).toArray(), 2e-6f);
            }
        }
    }

    @Test
    void inPlaceOnAViewLeavesTheRestOfTheBufferAlone() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor m = matrix(arena);
            Tensor view = m.narrow(-1, 4, 4);
            float[] packed = view.toArray();
            new LogSoftmax().forward(view, view);
            float[] want = new LogSoftmax().forward(Tensor.wrap(packed, 4, 4), arena).toArray();
            assertArrayEquals(want, view.toArray(), 2e-6f);
            for (int r = 0; r < 4; r++) {
                for (int c : new int[] {0, 3, 8, 11}) {
                    assertEquals(100f * r + c, m.get(r, c), "outside the view at " + r + ", " + c);
                }
            }
        }
    }

    @Test
    void viewsAreRefusedWhereTheyAreNotSupported() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor m = matrix(arena);
            Tensor view = m.narrow(-1, 0, 5);
            rejects(IllegalArgumentException.class, "x is a view with strided rows: it can only be reduced over"
                    + " the last dimension", () -> new Softmax(0).forward(view, arena));
            Tensor out = Tensor.allocate(arena, 4, 5);
            rejects(IllegalArgumentException.class, "out overlaps x without being the same view",
                    () -> new LogSoftmax().forward(view, m.narrow(-1, 1, 5)));
            float[] kept = Softmax4jChecksTest.sentinels(4 * 8);
            Tensor readOnlyView = Tensor.wrap(java.lang.foreign.MemorySegment.ofArray(kept).asReadOnly(), 4, 8)
                    .narrow(-1, 0, 5);
            rejects(IllegalArgumentException.class, "out is read-only",
                    () -> new Softmax().forward(view, readOnlyView), kept);
            Linear linear = new Linear(arena, 5, 3, new Random(1));
            rejects(IllegalArgumentException.class, "is a view with strided rows", () -> linear.forward(view, arena));
            rejects(IllegalArgumentException.class, "logits is a view with strided rows",
                    () -> new CrossEntropy().forward(view, Tensor.wrap(new int[] {0, 1, 2, 3}, 4), arena));
            assertEquals(Shape.of(4, 5), out.shape());
        }
    }
}
