package org.softmax4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Bad arguments to Linear are exceptions that name the argument, thrown before anything is
 * written: every output and gradient is filled with a sentinel first and must still hold it.
 */
class LinearChecksTest {
    static final float SENTINEL = 12345f;

    private Arena arena;
    private Linear layer; // in 4, out 3
    private Tensor x;     // [2, 4]
    private Tensor gy;    // [2, 3]

    @BeforeEach
    void setUp() {
        arena = Arena.ofAuto();
        SplittableRandom random = new SplittableRandom(5);
        layer = new Linear(arena, 4, 3, random);
        x = Tensor.copyOf(arena, LinearTest.random(random, 8), 2, 4);
        gy = Tensor.copyOf(arena, LinearTest.random(random, 6), 2, 3);
        fill(layer.gradWeight());
        fill(layer.gradBias());
    }

    @Test
    void forwardRejectsWrongShapes() {
        Tensor out = filled(2, 3);
        expect(IllegalArgumentException.class, "x must have 4 features in its last dimension, has shape [2, 5]",
                () -> layer.forward(Tensor.allocate(arena, 2, 5), out), out);
        expect(IllegalArgumentException.class, "out must have shape [2, 3], was [3, 2]",
                () -> layer.forward(x, filled(3, 2)), out);
        Tensor wide = filled(2, 4);
        expect(IllegalArgumentException.class, "out must have shape [2, 3], was [2, 4]",
                () -> layer.forward(x, wide), wide);
    }

    @Test
    void forwardRejectsClosedArenasAndReadOnlyOutput() {
        Tensor out = filled(2, 3);
        Arena closed = Arena.ofConfined();
        Tensor dead = Tensor.allocate(closed, 2, 4);
        closed.close();
        expect(IllegalStateException.class, "x: its arena is closed", () -> layer.forward(dead, out), out);
        expect(IllegalStateException.class, "arena: it is closed", () -> layer.forward(x, closed), out);
        Tensor readOnly = Tensor.wrap(out.segment().asReadOnly(), 2, 3);
        expect(IllegalArgumentException.class, "out is read-only, but it is written",
                () -> layer.forward(x, readOnly), out);
    }

    @Test
    void forwardRejectsOverlaps() {
        MemorySegment shared = arena.allocate(64 * Float.BYTES, 64);
        Tensor xs = Tensor.wrap(shared, 2, 4);
        Tensor overlapping = Tensor.wrap(shared.asSlice(4 * Float.BYTES), 2, 3);
        fill(overlapping);
        float[] xBefore = xs.toArray();
        expect(IllegalArgumentException.class, "out overlaps x, which it must not",
                () -> layer.forward(xs, overlapping), layer.gradWeight());
        assertArrayEquals(xBefore, xs.toArray());

        // An output over the weight itself.
        Tensor overWeight = Tensor.wrap(layer.weight().segment(), 2, 3);
        float[] weight = layer.weight().toArray();
        assertThrows(IllegalArgumentException.class, () -> layer.forward(x, overWeight));
        assertArrayEquals(weight, layer.weight().toArray());
    }

    @Test
    void backwardRejectsBadArgumentsBeforeWriting() {
        assertEquals("backward called before forward",
                assertThrows(IllegalStateException.class, () -> layer.backward(gy, arena)).getMessage());
        layer.forward(x, arena);
        Tensor gx = filled(2, 4);
        expect(IllegalArgumentException.class, "gradOutput must have shape [2, 3], was [2, 4]",
                () -> layer.backward(Tensor.allocate(arena, 2, 4), gx), gx);
        expect(IllegalArgumentException.class, "gradInput must have shape [2, 4], was [2, 3]",
                () -> layer.backward(gy, filled(2, 3)), gx);
        Tensor overGy = Tensor.wrap(gy.segment(), 1, 4);
        Linear wide = new Linear(arena, 4, 3, new SplittableRandom(1));
        wide.forward(Tensor.allocate(arena, 1, 4), arena);
        fill(wide.gradWeight());
        assertThrows(IllegalArgumentException.class, () -> wide.backward(Tensor.wrap(gy.segment(), 1, 3), overGy));
        assertSentinel(wide.gradWeight());
        expect(IllegalArgumentException.class, "gradInput overlaps the saved input, which it must not",
                () -> layer.backward(gy, x), gx);
        expect(IllegalArgumentException.class, "gradInput overlaps gradWeight, which it must not",
                () -> layer.backward(gy, Tensor.wrap(layer.gradWeight().segment(), 2, 4)), gx);
        expect(IllegalArgumentException.class, "gradWeight overlaps gradOutput, which it must not",
                () -> layer.backwardParameters(Tensor.wrap(layer.gradWeight().segment(), 2, 3)), gx);
        Arena closed = Arena.ofConfined();
        Tensor dead = Tensor.allocate(closed, 2, 3);
        closed.close();
        expect(IllegalStateException.class, "gradOutput: its arena is closed", () -> layer.backward(dead, gx), gx);
    }

    @Test
    void backwardRejectsASavedInputWhoseArenaClosed() {
        Arena closing = Arena.ofConfined();
        layer.forward(Tensor.copyOf(closing, new float[8], 2, 4), arena);
        closing.close();
        Tensor gx = filled(2, 4);
        expect(IllegalStateException.class, "saved input: its arena is closed", () -> layer.backward(gy, gx), gx);
    }

    @Test
    void constructorRejectsInconsistentTensors() {
        Tensor w = Tensor.allocate(arena, 3, 4);
        Tensor b = Tensor.allocate(arena, 3);
        Tensor dw = Tensor.allocate(arena, 3, 4);
        Tensor db = Tensor.allocate(arena, 3);
        assertMessage(IllegalArgumentException.class, "weight must have shape [out, in], was [12]",
                () -> new Linear(Tensor.allocate(arena, 12), b, dw, db));
        assertMessage(IllegalArgumentException.class, "bias and gradBias must be both given or both null, was gradBias null",
                () -> new Linear(w, b, dw, null));
        assertMessage(IllegalArgumentException.class, "gradWeight must have shape [3, 4], was [4, 3]",
                () -> new Linear(w, b, Tensor.allocate(arena, 4, 3), db));
        assertMessage(IllegalArgumentException.class, "bias must have shape [3], was [4]",
                () -> new Linear(w, Tensor.allocate(arena, 4), dw, db));
        assertMessage(IllegalArgumentException.class, "gradWeight overlaps weight, which it must not",
                () -> new Linear(w, b, w, db));
        assertMessage(IllegalArgumentException.class, "gradBias overlaps bias, which it must not",
                () -> new Linear(w, b, dw, b));
        assertMessage(IllegalArgumentException.class, "inFeatures must be in [0, 2147483647], was -1",
                () -> new Linear(arena, -1, 3, new SplittableRandom(1)));
        assertMessage(IllegalArgumentException.class, "outFeatures must be in [0, 2147483647], was 2147483648",
                () -> new Linear(arena, 1, 1L << 31, new SplittableRandom(1)));
        assertMessage(IllegalArgumentException.class, "gradWeight is read-only, but it is written",
                () -> new Linear(w, b, Tensor.wrap(dw.segment().asReadOnly(), 3, 4), db));
    }

    private Tensor filled(long... shape) {
        Tensor tensor = Tensor.allocate(arena, shape);
        fill(tensor);
        return tensor;
    }

    private static void fill(Tensor tensor) {
        float[] values = new float[(int) tensor.numel()];
        Arrays.fill(values, SENTINEL);
        tensor.segment().copyFrom(MemorySegment.ofArray(values));
    }

    /** The call throws {@code type} with {@code message}, and neither {@code out} nor the layer's gradients changed. */
    private void expect(Class<? extends RuntimeException> type, String message, Executable call, Tensor out) {
        assertMessage(type, message, call);
        assertSentinel(out);
        assertSentinel(layer.gradWeight());
        assertSentinel(layer.gradBias());
    }

    private static void assertMessage(Class<? extends RuntimeException> type, String message, Executable call) {
        assertEquals(message, assertThrows(type, call).getMessage());
    }

    private static void assertSentinel(Tensor tensor) {
        for (float v : tensor.toArray()) {
            assertTrue(v == SENTINEL, tensor + " was written: " + v);
        }
    }
}
