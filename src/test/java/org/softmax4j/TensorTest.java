package org.softmax4j;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

class TensorTest {

    @Test
    void allocateIsZeroFilledAndCacheLineAligned() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = Tensor.allocate(arena, 3, 5);
            assertEquals(Shape.of(3, 5), t.shape());
            assertEquals(15, t.numel());
            assertEquals(60, t.segment().byteSize());
            assertEquals(0, t.segment().address() % 64);
            assertArrayEquals(new float[15], t.toArray());
            assertTrue(t.isAlive());
            assertEquals("Tensor[3, 5] native", t.toString());
            Tensor empty = Tensor.allocate(arena, 0, 5);
            assertEquals(0, empty.numel());
        }
    }

    @Test
    void copyOfCopies() {
        float[] data = {1, 2, 3, 4, 5, 6};
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = Tensor.copyOf(arena, data, 2, 3);
            data[0] = 100;
            assertEquals(1f, t.get(0, 0));
            assertEquals(6f, t.get(1, 2));
            assertEquals(4f, t.get(1, 0));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Tensor.copyOf(arena, data, 4, 2));
            assertEquals("data holds 6 floats, shape [4, 2] needs 8", e.getMessage());
        }
    }

    @Test
    void wrapArraySharesTheArray() {
        float[] data = new float[7];
        Tensor t = Tensor.wrap(data, 2, 3);
        t.set(5f, 1, 2);
        assertEquals(5f, data[5]);
        data[0] = -1;
        assertEquals(-1f, t.get(0, 0));
        assertEquals(24, t.segment().byteSize(), "a view of the first numel floats");
        assertFalse(t.segment().isNative());
        assertSame(data, t.segment().heapBase().orElseThrow());
        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> Tensor.wrap(data, 2, 4));
        assertEquals("array holds 7 floats, needs numel = 8 for shape [2, 4]", e.getMessage());
        assertThrows(NullPointerException.class, () -> Tensor.wrap((float[]) null, 1));
    }

    @Test
    void wrapSegmentChecksSizeAlignmentKindAndArena() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(64, 8);
            Tensor t = Tensor.wrap(memory, 4, 4);
            assertEquals(64, t.segment().byteSize());
            t.set(3f, 2, 1);
            assertEquals(3f, memory.get(JAVA_FLOAT, 36));

            IndexOutOfBoundsException small = assertThrows(IndexOutOfBoundsException.class,
                    () -> Tensor.wrap(memory, 4, 5));
            assertEquals("segment holds 64 bytes, needs numel * 4 = 80 for shape [4, 5]", small.getMessage());
            IllegalArgumentException misaligned = assertThrows(IllegalArgumentException.class,
                    () -> Tensor.wrap(memory.asSlice(2), 2));
            assertTrue(misaligned.getMessage().startsWith("segment must be 4-byte aligned"), misaligned.getMessage());
            IllegalArgumentException bytes = assertThrows(IllegalArgumentException.class,
                    () -> Tensor.wrap(MemorySegment.ofArray(new byte[16]), 4));
            assertTrue(bytes.getMessage().contains("over byte[]"), bytes.getMessage());
            // Read-only memory can be wrapped (and read); it is rejected only as an output.
            Tensor readOnly = Tensor.wrap(memory.asReadOnly(), 16);
            assertEquals(3f, readOnly.get(9));
        }
        Arena closed = Arena.ofConfined();
        MemorySegment dead = closed.allocate(16, 4);
        closed.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Tensor.wrap(dead, 4));
        assertEquals("segment: its arena is closed", e.getMessage());
    }

    @Test
    void indexChecks() {
        Tensor t = Tensor.wrap(new float[6], 2, 3);
        IllegalArgumentException rank = assertThrows(IllegalArgumentException.class, () -> t.get(1));
        assertEquals("index has 1 coordinates, shape [2, 3] needs 2", rank.getMessage());
        IndexOutOfBoundsException high = assertThrows(IndexOutOfBoundsException.class, () -> t.get(1, 3));
        assertEquals("index[1] must be in [0, 3) for shape [2, 3], was 3", high.getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> t.set(1f, -1, 0));
    }

    @Test
    void tensorsDieWithTheirArena() {
        Arena arena = Arena.ofConfined();
        Tensor t = Tensor.allocate(arena, 4);
        arena.close();
        assertFalse(t.isAlive());
        assertThrows(IllegalStateException.class, t::toArray);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Tensor.allocate(arena, 4));
        assertEquals("arena: it is closed", e.getMessage());
    }

    @Test
    void invalidShapes() {
        try (Arena arena = Arena.ofConfined()) {
            assertThrows(IllegalArgumentException.class, () -> Tensor.allocate(arena, 2, -1));
            assertThrows(IllegalArgumentException.class, () -> Tensor.allocate(arena));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Tensor.allocate(arena, 1L << 31, 1L << 31));
            assertTrue(e.getMessage().contains("needs more than Long.MAX_VALUE bytes"), e.getMessage());
        }
    }
}
