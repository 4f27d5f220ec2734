package org.softmax4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ShapeTest {

    @Test
    void rowsColsAndNumel() {
        Shape shape = Shape.of(2, 3, 4);
        assertEquals(3, shape.rank());
        assertEquals(24, shape.numel());
        assertEquals(4, shape.cols());
        assertEquals(6, shape.rows());
        assertEquals(3, shape.dim(1));
        assertEquals(4, shape.dim(-1));
        assertEquals(2, shape.dim(-3));

        Shape vector = Shape.of(7);
        assertEquals(1, vector.rows());
        assertEquals(7, vector.cols());
        assertEquals(7, vector.numel());
    }

    @Test
    void emptyDimensions() {
        assertEquals(0, Shape.of(0, 5).numel());
        assertEquals(0, Shape.of(0, 5).rows());
        assertEquals(3, Shape.of(3, 0).rows());
        assertEquals(0, Shape.of(3, 0).cols());
        // A zero anywhere makes the product 0 even when the others would overflow.
        assertEquals(0, Shape.of(Long.MAX_VALUE, Long.MAX_VALUE, 0).numel());
    }

    @Test
    void normalizesDimensions() {
        Shape shape = Shape.of(2, 3, 4);
        assertEquals(2, shape.normalize(-1));
        assertEquals(0, shape.normalize(-3));
        assertEquals(1, shape.normalize(1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> shape.normalize(3));
        assertEquals("dim must be in [-3, 2] for rank 3, was 3", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> shape.normalize(-4));
        assertThrows(IllegalArgumentException.class, () -> shape.dim(5));
    }

    @Test
    void rejectsInvalidDimensions() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Shape.of());
        assertTrue(e.getMessage().contains("at least one dimension"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Shape.of(2, -2));
        assertEquals("dims[1] must be >= 0, was -2 in [2, -2]", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Shape.of(1L << 32, 1L << 32));
        assertTrue(e.getMessage().contains("overflows a long"), e.getMessage());
        assertThrows(NullPointerException.class, () -> new Shape(null));
    }

    @Test
    void valueSemanticsAndDefensiveCopies() {
        long[] dims = {2, 3};
        Shape shape = new Shape(dims);
        dims[0] = 99;
        assertEquals(Shape.of(2, 3), shape);
        assertEquals(Shape.of(2, 3).hashCode(), shape.hashCode());
        assertNotEquals(Shape.of(3, 2), shape);
        assertNotEquals(Shape.of(2, 3, 1), shape);
        assertEquals("[2, 3]", shape.toString());
        shape.dims()[0] = 77;
        assertArrayEquals(new long[] {2, 3}, shape.dims());
    }
}
