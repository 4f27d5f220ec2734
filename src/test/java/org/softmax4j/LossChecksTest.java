package org.softmax4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Every bad input of the losses, and of the float ops given a non-float tensor: the exception
 * type, a message that names the argument, and outputs left exactly as they were.
 */
class LossChecksTest {
    static final float MARK = 7.5f;

    private static float[] logits() {
        return new float[] {1, 2, 3, 4, 5, 6};
    }

    private static Tensor marked(Arena arena, long... shape) {
        Tensor t = Tensor.allocate(arena, shape);
        t.segment().fill((byte) 0);
        for (long i = 0; i < t.numel(); i++) {
            t.segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, MARK);
        }
        return t;
    }

    private static void assertUntouched(Tensor t) {
        float[] values = t.toArray();
        float[] mark = new float[values.length];
        Arrays.fill(mark, MARK);
        assertArrayEquals(mark, values, "the output must be untouched");
    }

    private static <T extends Throwable> void assertThrowsNaming(Class<T> type, Executable call, String... words) {
        T e = assertThrows(type, call);
        for (String word : words) {
            assertTrue(e.getMessage().contains(word), "'" + e.getMessage() + "' should mention '" + word + "'");
        }
    }

    @Test
    void outOfRangeTargetsNamePositionValueAndRange() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = Tensor.copyOf(arena, logits(), 2, 3);
            Tensor out = marked(arena, 2);
            CrossEntropy op = new CrossEntropy(LossOptions.defaults().withReduction(Reduction.NONE));
            assertThrowsNaming(IndexOutOfBoundsException.class,
                    () -> op.forward(x, Tensor.wrap(new int[] {0, 3}, 2), out), "target[1]", "= 3", "[0, 3)", "-100");
            assertThrowsNaming(IndexOutOfBoundsException.class,
                    () -> op.forward(x, Tensor.wrap(new long[] {-1, 0}, 2), out), "target[0]", "= -1");
            assertThrowsNaming(IndexOutOfBoundsException.class,
                    () -> op.forward(x, Tensor.wrap(new long[] {0, 1L << 33}, 2), out), "target[1]", "8589934592");
            assertUntouched(out);
            NllLoss nll = new NllLoss(LossOptions.defaults().withReduction(Reduction.NONE));
            assertThrowsNaming(IndexOutOfBoundsException.class,
                    () -> nll.forward(x, Tensor.wrap(new int[] {5, 0}, 2), out), "target[0]", "= 5");
            assertUntouched(out);

            // [N, C, d]: the position is named by its coordinates
            Tensor x3 = Tensor.allocate(arena, 1, 3, 2);
            assertThrowsNaming(IndexOutOfBoundsException.class,
                    () -> op.forward(x3, Tensor.wrap(new int[] {0, 9}, 1, 2), marked(arena, 1, 2)), "target[0, 1]", "= 9");
        }
    }

    @Test
    void targetChangedAfterForwardIsCaughtByBackward() {
        try (Arena arena = Arena.ofConfined()) {
            int[] labels = {0, 1};
            CrossEntropy op = new CrossEntropy();
            op.forward(Tensor.copyOf(arena, logits(), 2, 3), Tensor.wrap(labels, 2), arena);
            labels[1] = 3;
            Tensor grad = marked(arena, 2, 3);
            assertThrowsNaming(IndexOutOfBoundsException.class, () -> op.backward(1f, grad), "target[1]");
            assertUntouched(grad);
        }
    }

    @Test
    void wrongTargetShapeOrType() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = Tensor.copyOf(arena, logits(), 2, 3);
            Tensor out = marked(arena, 1);
            CrossEntropy op = new CrossEntropy();
            assertThrowsNaming(IllegalArgumentException.class, () -> op.forward(x, Tensor.wrap(new int[] {0, 1, 2}, 3), out),
                    "target", "[2]", "int32 [3]");
            assertThrowsNaming(IllegalArgumentException.class, () -> op.forward(x, Tensor.wrap(new float[] {0, 1}, 2), out),
                    "target", "float32 probabilities of shape [2, 3]");
            assertThrowsNaming(IllegalArgumentException.class,
                    () -> new NllLoss().forward(x, Tensor.copyOf(arena, logits(), 2, 3), out), "target", "int32 or int64");
            assertUntouched(out);
        }
    }

    @Test
    void badOptions() {
        assertThrowsNaming(IllegalArgumentException.class, () -> LossOptions.defaults().withLabelSmoothing(-0.1f), "labelSmoothing", "-0.1");
        assertThrowsNaming(IllegalArgumentException.class, () -> LossOptions.defaults().withLabelSmoothing(1.5f), "labelSmoothing", "[0, 1]");
        assertThrowsNaming(IllegalArgumentException.class, () -> LossOptions.defaults().withLabelSmoothing(Float.NaN), "labelSmoothing");
        assertThrows(NullPointerException.class, () -> LossOptions.defaults().withReduction(null));
        assertThrowsNaming(IllegalArgumentException.class,
                () -> new NllLoss(LossOptions.defaults().withLabelSmoothing(0.1f)), "labelSmoothing", "NllLoss");
    }

    @Test
    void badWeights() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = Tensor.copyOf(arena, logits(), 2, 3);
            Tensor target = Tensor.wrap(new int[] {0, 1}, 2);
            Tensor out = marked(arena, 1);
            Tensor[] bad = {
                Tensor.copyOf(arena, new float[] {1, 1}, 2),
                Tensor.copyOf(arena, new int[] {1, 1, 1}, 3),
                Tensor.copyOf(arena, new float[] {1, -1, 1}, 3),
                Tensor.copyOf(arena, new float[] {1, Float.NaN, 1}, 3),
                Tensor.copyOf(arena, new float[] {1, 1, Float.POSITIVE_INFINITY}, 3)};
            for (Tensor weight : bad) {
                CrossEntropy op = new CrossEntropy(LossOptions.defaults().withWeight(weight));
                assertThrowsNaming(IllegalArgumentException.class, () -> op.forward(x, target, out), "weight");
                NllLoss nll = new NllLoss(LossOptions.defaults().withWeight(weight));
                assertThrowsNaming(IllegalArgumentException.class, () -> nll.forward(x, target, out), "weight");
            }
            assertUntouched(out);
        }
    }

    @Test
    void overlappingOutputs() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(4 * 12, 64);
            Tensor x = Tensor.wrap(memory, 2, 3);
            Tensor target = Tensor.wrap(new int[] {0, 1}, 2);
            CrossEntropy none = new CrossEntropy(LossOptions.defaults().withReduction(Reduction.NONE));
            Tensor outInX = Tensor.wrap(memory.asSlice(8), 2);
            assertThrowsNaming(IllegalArgumentException.class, () -> none.forward(x, target, outInX), "out", "logits");

            Tensor probs = Tensor.wrap(memory.asSlice(24), 2, 3);
            Tensor ok = Tensor.copyOf(arena, logits(), 2, 3);
            CrossEntropy op = new CrossEntropy();
            op.forward(ok, probs, arena);
            Tensor gradOverTarget = Tensor.wrap(memory.asSlice(16), 2, 3);
            assertThrowsNaming(IllegalArgumentException.class, () -> op.backward(1f, gradOverTarget), "gradLogits", "target");
            assertThrowsNaming(IllegalArgumentException.class, () -> op.backward(1f, ok), "gradLogits", "logits");
            float[] before = memory.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
            assertArrayEquals(new float[12], before, "nothing written");
            assertArrayEquals(logits(), ok.toArray());
        }
    }

    @Test
    void closedArenasAndOrder() {
        CrossEntropy op = new CrossEntropy();
        try (Arena arena = Arena.ofConfined()) {
            assertThrowsNaming(IllegalStateException.class, () -> op.backward(1f, arena), "before forward");
            assertThrowsNaming(IllegalStateException.class, () -> new NllLoss().backward(1f, arena), "before forward");
        }
        Tensor x;
        try (Arena closed = Arena.ofConfined()) {
            x = Tensor.copyOf(closed, logits(), 2, 3);
        }
        try (Arena arena = Arena.ofConfined()) {
            Tensor target = Tensor.wrap(new int[] {0, 1}, 2);
            assertThrowsNaming(IllegalStateException.class, () -> op.forward(x, target, arena), "logits", "closed");
            Tensor out = marked(arena, 1);
            assertThrowsNaming(IllegalStateException.class, () -> op.forward(x, target, out), "logits", "closed");
            assertUntouched(out);
        }
        try (Arena arena = Arena.ofConfined()) {
            Tensor saved;
            try (Arena inner = Arena.ofConfined()) {
                saved = Tensor.copyOf(inner, logits(), 2, 3);
                op.forward(saved, Tensor.wrap(new int[] {0, 1}, 2), arena);
            }
            Tensor grad = marked(arena, 2, 3);
            assertThrowsNaming(IllegalStateException.class, () -> op.backward(1f, grad), "logits", "closed");
            assertUntouched(grad);
        }
    }

    @Test
    void badShapesAndGradients() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor target = Tensor.wrap(new int[] {0, 1}, 2);
            CrossEntropy op = new CrossEntropy();
            assertThrowsNaming(IllegalArgumentException.class,
                    () -> op.forward(Tensor.copyOf(arena, new float[] {1, 2, 3}, 3), Tensor.wrap(new int[] {0}, 1), arena),
                    "logits", "[N, C]", "[1, C]");
            assertThrowsNaming(IllegalArgumentException.class,
                    () -> op.forward(Tensor.allocate(arena, 2, 0), target, arena), "at least one class");
            assertThrowsNaming(IllegalArgumentException.class,
                    () -> op.forward(Tensor.copyOf(arena, new int[] {1, 2, 3, 4, 5, 6}, 2, 3), target, arena), "logits", "float32");
            Tensor x = Tensor.copyOf(arena, logits(), 2, 3);
            assertThrowsNaming(IllegalArgumentException.class, () -> op.forward(x, target, marked(arena, 2)), "out", "[1]");
            Tensor readOnly = Tensor.wrap(Tensor.allocate(arena, 1).segment().asReadOnly(), 1);
            assertThrowsNaming(IllegalArgumentException.class, () -> op.forward(x, target, readOnly), "out", "read-only");

            CrossEntropy none = new CrossEntropy(LossOptions.defaults().withReduction(Reduction.NONE));
            none.forward(x, target, arena);
            Tensor grad = marked(arena, 2, 3);
            assertThrowsNaming(IllegalArgumentException.class, () -> none.backward(1f, grad), "gradLoss", "[2]");
            assertThrowsNaming(IllegalArgumentException.class,
                    () -> none.backward(Tensor.allocate(arena, 1), grad), "gradLoss", "[2]");
            assertThrowsNaming(IllegalArgumentException.class,
                    () -> none.backward(Tensor.allocate(arena, 2), marked(arena, 3, 2)), "gradLogits", "[2, 3]");
            assertUntouched(grad);
        }
    }

    @Test
    void floatOpsRejectIntegerTensors() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor ints = Tensor.copyOf(arena, new int[] {1, 2, 3, 4}, 2, 2);
            assertThrowsNaming(IllegalArgumentException.class, () -> new LogSoftmax().forward(ints, arena), "x", "float32", "int32");
            Tensor y = marked(arena, 2, 2);
            assertThrowsNaming(IllegalArgumentException.class, () -> new LogSoftmax().forward(ints, y), "x", "float32");
            assertUntouched(y);
            Tensor longs = Tensor.allocate(arena, DType.INT64, 2, 2);
            assertThrowsNaming(IllegalArgumentException.class,
                    () -> new LogSoftmax().forward(Tensor.allocate(arena, 2, 2), longs), "out", "int64");
        }
    }

    @Test
    void integerTensors() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor a = Tensor.wrap(new int[] {3, -4, 5, 6}, 2, 2);
            assertEquals(DType.INT32, a.dtype());
            assertEquals(4, a.numel());
            assertEquals(-4, a.getLong(0, 1));
            assertEquals("Tensor[2, 2] int32 heap", a.toString());
            Tensor b = Tensor.copyOf(arena, new long[] {1L << 40, 2}, 2);
            assertEquals(DType.INT64, b.dtype());
            assertEquals(1L << 40, b.getLong(0));
            assertEquals(16, b.segment().byteSize());
            Tensor c = Tensor.allocate(arena, DType.INT64, 2, 3);
            assertEquals(48, c.segment().byteSize());
            assertEquals(6, c.numel());
            assertThrows(IllegalStateException.class, () -> a.get(0, 0));
            assertThrows(IllegalStateException.class, a::toArray);
            assertThrows(IllegalStateException.class, () -> Tensor.allocate(arena, 1).getLong(0));
            assertThrows(IndexOutOfBoundsException.class, () -> Tensor.wrap(new long[] {1}, 2));
            assertThrows(IllegalArgumentException.class, () -> Tensor.copyOf(arena, new int[] {1, 2, 3}, 2));
            assertEquals(DType.FLOAT32, Tensor.allocate(arena, 2).dtype());
        }
    }
}
