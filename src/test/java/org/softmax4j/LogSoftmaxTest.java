package org.softmax4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.softmax4j.Softmax4jChecksTest.SENTINEL;
import static org.softmax4j.Softmax4jChecksTest.rejects;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.softmax4j.internal.Float64Reference;
import org.softmax4j.internal.Reference;

class LogSoftmaxTest {
    static final long[] SHAPE = {2, 3, 5};
    static final int N = 30;
    static final int COLS = 5;

    final float[] x = Softmax4jTest.random(N, 11);
    final float[] gy = Softmax4jTest.random(N, 12);

    @Test
    void forwardAndBackwardInTheCallersArena() {
        try (Arena arena = Arena.ofConfined()) {
            LogSoftmax op = new LogSoftmax();
            Tensor y = op.forward(Tensor.copyOf(arena, x, SHAPE), arena);
            assertEquals(Shape.of(SHAPE), y.shape());
            assertSame(y, op.savedOutput());
            float[] ys = y.toArray();
            assertEquals(null, Reference.mismatch(ys, Float64Reference.forward(x, N / COLS, COLS), COLS));
            Tensor gx = op.backward(Tensor.copyOf(arena, gy, SHAPE), arena);
            assertEquals(null, Reference.mismatch(gx.toArray(), Float64Reference.backward(gy, ys, N / COLS, COLS), COLS));
        }
    }

    @Test
    void matchesTheStaticEntriesOnHeapAndInPlace() {
        float[] expectedY = new float[N];
        float[] expectedGx = new float[N];
        Softmax4j.logSoftmaxForward(x, expectedY, N / COLS, COLS);
        Softmax4j.logSoftmaxBackward(gy, expectedY, expectedGx, N / COLS, COLS);

        LogSoftmax op = new LogSoftmax(2);
        float[] data = x.clone();
        Tensor t = Tensor.wrap(data, SHAPE);
        assertSame(t, op.forward(t, t), "in place");
        assertArrayEquals(expectedY, data);

        float[] grad = gy.clone();
        Tensor g = Tensor.wrap(grad, SHAPE);
        assertSame(g, op.backward(g, g), "in place");
        assertArrayEquals(expectedGx, grad);

        // Backward may run again from the same saved output.
        Tensor again = op.backward(Tensor.wrap(gy.clone(), SHAPE), Tensor.wrap(new float[N], SHAPE));
        assertArrayEquals(expectedGx, again.toArray());
    }

    @Test
    void dimOutsideTheRankIsRejected() {
        Tensor t = Tensor.wrap(x.clone(), SHAPE);
        Tensor out = Tensor.wrap(Softmax4jChecksTest.sentinels(N), SHAPE);
        for (int dim : new int[] {-4, 3, 7}) {
            rejects(IllegalArgumentException.class, "dim must be in [-3, 2] for rank 3, was " + dim,
                    () -> new LogSoftmax(dim).forward(t, out), out.segment());
        }
        new LogSoftmax(-1).forward(t, out);
        new LogSoftmax(2).forward(t, out);
        new LogSoftmax(0).forward(Tensor.wrap(new float[4], 4), Tensor.wrap(new float[4], 4));
    }

    @Test
    void backwardBeforeForward() {
        LogSoftmax op = new LogSoftmax();
        Tensor out = Tensor.wrap(Softmax4jChecksTest.sentinels(N), SHAPE);
        rejects(IllegalStateException.class, "backward called before forward",
                () -> op.backward(Tensor.wrap(gy, SHAPE), out), out.segment());
        try (Arena arena = Arena.ofConfined()) {
            rejects(IllegalStateException.class, "backward called before forward",
                    () -> op.backward(Tensor.wrap(gy, SHAPE), arena));
        }
        rejects(IllegalStateException.class, "forward was not called", op::savedOutput);
    }

    @Test
    void shapeMismatches() {
        LogSoftmax op = new LogSoftmax();
        Tensor in = Tensor.wrap(x.clone(), SHAPE);
        Tensor wrong = Tensor.wrap(Softmax4jChecksTest.sentinels(N), 2, 15);
        rejects(IllegalArgumentException.class, "out has shape [2, 15], but x has shape [2, 3, 5]",
                () -> op.forward(in, wrong), wrong.segment());
        op.forward(in, Tensor.wrap(new float[N], SHAPE));
        Tensor right = Tensor.wrap(Softmax4jChecksTest.sentinels(N), SHAPE);
        rejects(IllegalArgumentException.class, "gradOutput has shape [2, 15], but saved output has shape [2, 3, 5]",
                () -> op.backward(Tensor.wrap(gy, 2, 15), right), right.segment());
        rejects(IllegalArgumentException.class, "gradInput has shape [2, 15], but saved output has shape [2, 3, 5]",
                () -> op.backward(Tensor.wrap(gy, SHAPE), wrong), wrong.segment());
        try (Arena arena = Arena.ofConfined()) {
            rejects(IllegalArgumentException.class, "gradOutput has shape [6, 5]",
                    () -> op.backward(Tensor.wrap(gy, 6, 5), arena));
        }
    }

    @Test
    void closedArenasAreNamed() {
        Arena closed = Arena.ofConfined();
        Tensor dead = Tensor.allocate(closed, SHAPE);
        closed.close();
        Tensor out = Tensor.wrap(Softmax4jChecksTest.sentinels(N), SHAPE);
        LogSoftmax op = new LogSoftmax();
        rejects(IllegalStateException.class, "x: its arena is closed", () -> op.forward(dead, out), out.segment());
        rejects(IllegalStateException.class, "out: its arena is closed",
                () -> op.forward(Tensor.wrap(x, SHAPE), dead));
        try (Arena arena = Arena.ofConfined()) {
            rejects(IllegalStateException.class, "x: its arena is closed", () -> op.forward(dead, arena));
        }
        rejects(IllegalStateException.class, "arena: it is closed", () -> op.forward(Tensor.wrap(x, SHAPE), closed));

        op.forward(Tensor.wrap(x, SHAPE), Tensor.wrap(new float[N], SHAPE));
        rejects(IllegalStateException.class, "gradOutput: its arena is closed", () -> op.backward(dead, out), out.segment());
        rejects(IllegalStateException.class, "gradInput: its arena is closed",
                () -> op.backward(Tensor.wrap(gy, SHAPE), dead));
        rejects(IllegalStateException.class, "arena: it is closed", () -> op.backward(Tensor.wrap(gy, SHAPE), closed));

        // The saved output dies with its arena; backward says so instead of reading freed memory.
        Arena forwardArena = Arena.ofConfined();
        op.forward(Tensor.wrap(x, SHAPE), forwardArena);
        forwardArena.close();
        rejects(IllegalStateException.class, "saved output: its arena is closed",
                () -> op.backward(Tensor.wrap(gy, SHAPE), out), out.segment());
        try (Arena arena = Arena.ofConfined()) {
            rejects(IllegalStateException.class, "saved output: its arena is closed",
                    () -> op.backward(Tensor.wrap(gy, SHAPE), arena));
        }
    }

    @Test
    void readOnlyOutputs() {
        float[] sentinels = Softmax4jChecksTest.sentinels(N);
        Tensor readOnly = Tensor.wrap(MemorySegment.ofArray(sentinels).asReadOnly(), SHAPE);
        LogSoftmax op = new LogSoftmax();
        rejects(IllegalArgumentException.class, "out is read-only", () -> op.forward(Tensor.wrap(x, SHAPE), readOnly),
                sentinels);
        op.forward(Tensor.wrap(x, SHAPE), Tensor.wrap(new float[N], SHAPE));
        rejects(IllegalArgumentException.class, "gradInput is read-only",
                () -> op.backward(Tensor.wrap(gy, SHAPE), readOnly), sentinels);
        // A read-only input is fine.
        Tensor out = op.forward(Tensor.wrap(MemorySegment.ofArray(x).asReadOnly(), SHAPE), Tensor.wrap(new float[N], SHAPE));
        float[] expected = new float[N];
        Softmax4j.logSoftmaxForward(x, expected, N / COLS, COLS);
        assertArrayEquals(expected, out.toArray());
    }

    @Test
    void aliasing() {
        float[] memory = Softmax4jChecksTest.sentinels(N + COLS);
        MemorySegment whole = MemorySegment.ofArray(memory);
        Tensor low = Tensor.wrap(whole, SHAPE);
        Tensor high = Tensor.wrap(whole.asSlice(4L * COLS), SHAPE);
        LogSoftmax op = new LogSoftmax();
        rejects(IllegalArgumentException.class, "out overlaps x without being the same memory",
                () -> op.forward(low, high), memory);
        rejects(IllegalArgumentException.class, "out overlaps x without being the same memory",
                () -> op.forward(high, low), memory);

        float[] saved = new float[N];
        Tensor y = op.forward(Tensor.wrap(x, SHAPE), Tensor.wrap(saved, SHAPE));
        float[] savedCopy = saved.clone();
        // gradInput may be gradOutput, but never the saved output, which a second backward needs.
        rejects(IllegalArgumentException.class, "gradInput overlaps the saved output, which must stay intact",
                () -> op.backward(Tensor.wrap(gy, SHAPE), y));
        float[] around = new float[N + 1];
        System.arraycopy(saved, 0, around, 1, N);
        rejects(IllegalArgumentException.class, "gradInput overlaps gradOutput without being the same memory",
                () -> op.backward(Tensor.wrap(memory, SHAPE), Tensor.wrap(whole.asSlice(4), SHAPE)), memory);
        LogSoftmax partial = new LogSoftmax();
        MemorySegment aroundSegment = MemorySegment.ofArray(around);
        partial.forward(Tensor.wrap(x, SHAPE), Tensor.wrap(aroundSegment.asSlice(4), SHAPE));
        float[] aroundCopy = around.clone();
        rejects(IllegalArgumentException.class, "gradInput overlaps the saved output",
                () -> partial.backward(Tensor.wrap(gy, SHAPE), Tensor.wrap(aroundSegment, SHAPE)));
        assertArrayEquals(aroundCopy, around);
        assertArrayEquals(savedCopy, saved);
        // gradOutput may overlap the saved output: both are only read.
        op.backward(y, Tensor.wrap(new float[N], SHAPE));
        assertArrayEquals(savedCopy, saved);
        assertEquals(SENTINEL, memory[0]);
    }

    @Test
    void nullArguments() {
        LogSoftmax op = new LogSoftmax();
        assertThrows(NullPointerException.class, () -> op.forward(null, Tensor.wrap(new float[1], 1)));
        assertThrows(NullPointerException.class, () -> op.forward(Tensor.wrap(new float[1], 1), (Tensor) null));
        assertThrows(NullPointerException.class, () -> op.forward(Tensor.wrap(new float[1], 1), (Arena) null));
        assertEquals("LogSoftmax[dim=-1]", op.toString());
        assertEquals(-1, op.dim());
        assertEquals(Arrays.toString(new float[0]), Arrays.toString(
                new LogSoftmax().forward(Tensor.wrap(new float[0], 0), Tensor.wrap(new float[0], 0)).toArray()));
    }
}
