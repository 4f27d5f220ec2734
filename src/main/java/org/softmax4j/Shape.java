package org.softmax4j;

import java.util.Arrays;

/**
 * The dimensions of a row-major tensor, outermost first.
 *
 * <p>A shape has at least one dimension and every dimension is {@code >= 0}; the number of
 * elements must fit in a {@code long}. The last dimension is the one log-softmax works over:
 * {@link #cols()} is its size and {@link #rows()} the product of all the others.
 *
 * <p>Shapes compare, hash and print by value. The array given to the constructor is copied,
 * and {@link #dims()} returns a copy, so a shape never changes.
 *
 * @param dims the size of each dimension, outermost first
 */
public record Shape(long[] dims) {

    /**
     * Creates a shape from a copy of {@code dims}.
     *
     * @throws NullPointerException if {@code dims} is null
     * @throws IllegalArgumentException if {@code dims} is empty, a dimension is negative, or the
     *     number of elements overflows a {@code long}
     */
    public Shape {
        if (dims.length == 0) {
            throw new IllegalArgumentException("a shape needs at least one dimension, was []");
        }
        dims = dims.clone();
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] < 0) {
                throw new IllegalArgumentException(
                        "dims[" + i + "] must be >= 0, was " + dims[i] + " in " + Arrays.toString(dims));
            }
        }
        product(dims, dims.length);
    }

    /** The same as {@code new Shape(dims)}. */
    public static Shape of(long... dims) {
        return new Shape(dims);
    }

    /** Returns a copy of the dimensions. */
    @Override
    public long[] dims() {
        return dims.clone();
    }

    /** The number of dimensions, at least 1. */
    public int rank() {
        return dims.length;
    }

    /**
     * The size of dimension {@code dim}; a negative {@code dim} counts from the end.
     *
     * @throws IllegalArgumentException if {@code dim} is not in {@code [-rank, rank - 1]}
     */
    public long dim(int dim) {
        return dims[normalize(dim)];
    }

    /** The number of elements: the product of all dimensions (1 for a shape of rank 1 and size 1). */
    public long numel() {
        return product(dims, dims.length);
    }

    /** The size of the last dimension: the length of one row. */
    public long cols() {
        return dims[dims.length - 1];
    }

    /** The product of all dimensions but the last: the number of rows (1 for rank 1). */
    public long rows() {
        // The common ranks directly: every op call asks for the rows.
        if (dims.length == 1) {
            return 1;
        }
        if (dims.length == 2) {
            return dims[0];
        }
        return product(dims, dims.length - 1);
    }

    /**
     * Turns a dimension index that may count from the end into one in {@code [0, rank)}:
     * {@code -1} is the last dimension, {@code -rank} the first.
     *
     * @throws IllegalArgumentException if {@code dim} is not in {@code [-rank, rank - 1]}
     */
    public int normalize(int dim) {
        int rank = dims.length;
        if (dim < -rank || dim >= rank) {
            throw new IllegalArgumentException(
                    "dim must be in [" + -rank + ", " + (rank - 1) + "] for rank " + rank + ", was " + dim);
        }
        return dim < 0 ? dim + rank : dim;
    }

    /**
     * The product of the dimensions before {@code dim}: how many independent slabs a reduction
     * over {@code dim} has (1 for the first dimension).
     *
     * @throws IllegalArgumentException if {@code dim} is not in {@code [-rank, rank - 1]}
     */
    public long sizeBefore(int dim) {
        return product(dims, 0, normalize(dim));
    }

    /**
     * The product of the dimensions after {@code dim}: the distance, in elements, between two
     * consecutive entries along {@code dim} (1 for the last dimension).
     *
     * @throws IllegalArgumentException if {@code dim} is not in {@code [-rank, rank - 1]}
     */
    public long sizeAfter(int dim) {
        return product(dims, normalize(dim) + 1, dims.length);
    }

    @Override
    public boolean equals(Object other) {
        if (this == other) {
            return true;
        }
        if (!(other instanceof Shape that) || dims.length != that.dims.length) {
            return false;
        }
        // A plain loop: every op call compares shapes, which are short, and Arrays.equals calls
        // out to a vectorised comparison made for long arrays.
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] != that.dims[i]) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    /** Like {@code [2, 3, 4]}. */
    @Override
    public String toString() {
        return Arrays.toString(dims);
    }

    private static long product(long[] dims, int count) {
        return product(dims, 0, count);
    }

    /** The product of {@code dims[from..to)}. */
    private static long product(long[] dims, int from, int to) {
        for (int i = from; i < to; i++) {
            if (dims[i] == 0) {
                return 0; // no overflow: an empty tensor is empty whatever its other dimensions
            }
        }
        long product = 1;
        for (int i = from; i < to; i++) {
            try {
                product = Math.multiplyExact(product, dims[i]);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException(
                        "the number of elements of " + Arrays.toString(dims) + " overflows a long", e);
            }
        }
        return product;
    }
}
