package org.softmax4j;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;
import org.softmax4j.internal.Checks;

/**
 * A row-major tensor: a view of {@code shape.numel() * dtype.byteSize()} bytes of a
 * {@link MemorySegment} with a {@link Shape} and a {@link DType}. Float32 unless made otherwise:
 * the int32 and int64 tensors ({@link #wrap(int[], long...)}, {@link #wrap(long[], long...)},
 * {@link #copyOf(Arena, int[], long...)}, {@link #copyOf(Arena, long[], long...)},
 * {@link #allocate(Arena, DType, long...)}) hold class indices for the losses; the float ops
 * reject them with {@link IllegalArgumentException}.
 *
 * <p>A tensor owns no memory: its segment belongs to an {@link Arena} that the caller controls (or
 * to a {@code float[]}), and it is valid only while that arena is open. Operations check this and
 * throw {@link IllegalStateException} on a tensor whose arena is closed; {@link #isAlive()} tells
 * beforehand.
 *
 * <p>Every tensor's memory is float memory the native kernels can read directly: native memory
 * aligned to 4 bytes (64 for the tensors allocated here, a cache line), or a heap segment over a
 * {@code float[]}. A tensor over read-only memory can be read, and is rejected when an operation
 * would write it.
 *
 * <p>Tensors are views: two tensors over the same memory are different objects, and
 * {@code equals} is identity.
 */
public final class Tensor {
    /** A cache line, which also suits every vector width the kernels use. */
    private static final long ALIGNMENT = 64;

    private final MemorySegment segment;
    private final Shape shape;
    private final DType dtype;

    private Tensor(MemorySegment segment, Shape shape) {
        this(segment, shape, DType.FLOAT32);
    }

    private Tensor(MemorySegment segment, Shape shape, DType dtype) {
        this.segment = segment;
        this.shape = shape;
        this.dtype = dtype;
    }

    /**
     * Allocates a zero-filled tensor, 64-byte aligned, in {@code arena}.
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the shape is invalid (see {@link Shape}) or its byte size
     *     overflows a {@code long}
     * @throws IllegalStateException if {@code arena} is closed
     */
    public static Tensor allocate(Arena arena, long... shape) {
        Objects.requireNonNull(arena, "arena");
        return allocate(arena, new Shape(shape));
    }

    static Tensor allocate(Arena arena, Shape shape) {
        return allocate(arena, DType.FLOAT32, shape);
    }

    /**
     * Allocates a zero-filled tensor of {@code dtype}, 64-byte aligned, in {@code arena}.
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the shape is invalid (see {@link Shape}) or its byte size
     *     overflows a {@code long}
     * @throws IllegalStateException if {@code arena} is closed
     */
    public static Tensor allocate(Arena arena, DType dtype, long... shape) {
        Objects.requireNonNull(arena, "arena");
        Objects.requireNonNull(dtype, "dtype");
        return allocate(arena, dtype, new Shape(shape));
    }

    static Tensor allocate(Arena arena, DType dtype, Shape shape) {
        long bytes = byteSize(shape, dtype);
        MemorySegment segment;
        try {
            segment = arena.allocate(bytes, ALIGNMENT);
        } catch (IllegalStateException e) {
            throw new IllegalStateException("arena: it is closed", e);
        }
        return new Tensor(segment, shape, dtype);
    }

    /**
     * Allocates an int32 tensor in {@code arena} holding a copy of {@code data}.
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the shape is invalid, or {@code data.length} is not its
     *     number of elements
     * @throws IllegalStateException if {@code arena} is closed
     */
    public static Tensor copyOf(Arena arena, int[] data, long... shape) {
        Objects.requireNonNull(arena, "arena");
        Objects.requireNonNull(data, "data");
        Shape s = requireLength(data.length, "ints", shape);
        Tensor tensor = allocate(arena, DType.INT32, s);
        MemorySegment.copy(data, 0, tensor.segment, JAVA_INT, 0, data.length);
        return tensor;
    }

    /**
     * Allocates an int64 tensor in {@code arena} holding a copy of {@code data}.
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the shape is invalid, or {@code data.length} is not its
     *     number of elements
     * @throws IllegalStateException if {@code arena} is closed
     */
    public static Tensor copyOf(Arena arena, long[] data, long... shape) {
        Objects.requireNonNull(arena, "arena");
        Objects.requireNonNull(data, "data");
        Shape s = requireLength(data.length, "longs", shape);
        Tensor tensor = allocate(arena, DType.INT64, s);
        MemorySegment.copy(data, 0, tensor.segment, JAVA_LONG, 0, data.length);
        return tensor;
    }

    /**
     * An int32 tensor over the first {@code numel} elements of {@code array}, without a copy.
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the shape is invalid
     * @throws IndexOutOfBoundsException if {@code array} has fewer than {@code numel} elements
     */
    public static Tensor wrap(int[] array, long... shape) {
        Objects.requireNonNull(array, "array");
        Shape s = requireCapacity(array.length, "ints", shape);
        return new Tensor(MemorySegment.ofArray(array).asSlice(0, s.numel() * Integer.BYTES), s, DType.INT32);
    }

    /**
     * An int64 tensor over the first {@code numel} elements of {@code array}, without a copy.
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the shape is invalid
     * @throws IndexOutOfBoundsException if {@code array} has fewer than {@code numel} elements
     */
    public static Tensor wrap(long[] array, long... shape) {
        Objects.requireNonNull(array, "array");
        Shape s = requireCapacity(array.length, "longs", shape);
        return new Tensor(MemorySegment.ofArray(array).asSlice(0, s.numel() * Long.BYTES), s, DType.INT64);
    }

    private static Shape requireLength(int length, String what, long[] shape) {
        Shape s = new Shape(shape);
        if (length != s.numel()) {
            throw new IllegalArgumentException(
                    "data holds " + length + " " + what + ", shape " + s + " needs " + s.numel());
        }
        return s;
    }

    private static Shape requireCapacity(int length, String what, long[] shape) {
        Shape s = new Shape(shape);
        if (length < s.numel()) {
            throw new IndexOutOfBoundsException(
                    "array holds " + length + " " + what + ", needs numel = " + s.numel() + " for shape " + s);
        }
        return s;
    }

    /**
     * Allocates a tensor in {@code arena} holding a copy of {@code data}.
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the shape is invalid, or {@code data.length} is not its
     *     number of elements
     * @throws IllegalStateException if {@code arena} is closed
     */
    public static Tensor copyOf(Arena arena, float[] data, long... shape) {
        Objects.requireNonNull(arena, "arena");
        Objects.requireNonNull(data, "data");
        Shape s = new Shape(shape);
        if (data.length != s.numel()) {
            throw new IllegalArgumentException(
                    "data holds " + data.length + " floats, shape " + s + " needs " + s.numel());
        }
        Tensor tensor = allocate(arena, s);
        MemorySegment.copy(data, 0, tensor.segment, JAVA_FLOAT, 0, data.length);
        return tensor;
    }

    /**
     * A tensor over the first {@code numel * 4} bytes of {@code segment}, without a copy.
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the shape is invalid; if {@code segment} is a heap segment
     *     not backed by a {@code float[]}; if it is not 4-byte aligned
     * @throws IndexOutOfBoundsException if {@code segment} is smaller than {@code numel * 4} bytes
     * @throws IllegalStateException if the arena of {@code segment} is closed
     */
    public static Tensor wrap(MemorySegment segment, long... shape) {
        Objects.requireNonNull(segment, "segment");
        Shape s = new Shape(shape);
        long bytes = byteSize(s);
        if (!segment.scope().isAlive()) {
            throw new IllegalStateException("segment: its arena is closed");
        }
        if (segment.byteSize() < bytes) {
            throw new IndexOutOfBoundsException("segment holds " + segment.byteSize()
                    + " bytes, needs numel * 4 = " + bytes + " for shape " + s);
        }
        Checks.requireFloatMemory("segment", segment);
        return new Tensor(segment.asSlice(0, bytes), s);
    }

    /**
     * A tensor over the first {@code numel} elements of {@code array}, without a copy. Writes to
     * either are seen by the other; native kernels work on the array in place.
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the shape is invalid
     * @throws IndexOutOfBoundsException if {@code array} has fewer than {@code numel} elements
     */
    public static Tensor wrap(float[] array, long... shape) {
        Objects.requireNonNull(array, "array");
        Shape s = new Shape(shape);
        if (array.length < s.numel()) {
            throw new IndexOutOfBoundsException(
                    "array holds " + array.length + " floats, needs numel = " + s.numel() + " for shape " + s);
        }
        return new Tensor(MemorySegment.ofArray(array).asSlice(0, s.numel() * Float.BYTES), s);
    }

    /** The memory of this tensor: exactly {@code numel() * dtype().byteSize()} bytes. */
    public MemorySegment segment() {
        return segment;
    }

    public Shape shape() {
        return shape;
    }

    /** The element type. */
    public DType dtype() {
        return dtype;
    }

    /** The number of elements. */
    public long numel() {
        return segment.byteSize() / dtype.byteSize();
    }

    /** Whether the memory can still be used, that is whether its arena is open. */
    public boolean isAlive() {
        return segment.scope().isAlive();
    }

    /**
     * The element at {@code index}, one coordinate per dimension.
     *
     * @throws IllegalArgumentException if {@code index} does not have one coordinate per dimension
     * @throws IndexOutOfBoundsException if a coordinate is out of its dimension's bounds
     * @throws IllegalStateException if the arena is closed
     */
    public float get(long... index) {
        requireFloat32("get");
        return segment.get(JAVA_FLOAT, offset(index));
    }

    /**
     * The integer element at {@code index} of an int32 or int64 tensor.
     *
     * @throws IllegalStateException if the tensor is float32, or the arena is closed
     * @throws IllegalArgumentException if {@code index} does not have one coordinate per dimension
     * @throws IndexOutOfBoundsException if a coordinate is out of its dimension's bounds
     */
    public long getLong(long... index) {
        long offset = offset(index);
        return switch (dtype) {
            case INT32 -> segment.get(JAVA_INT, offset);
            case INT64 -> segment.get(JAVA_LONG, offset);
            default -> throw new IllegalStateException("getLong: this tensor is " + dtype + ", use get");
        };
    }

    /**
     * Sets the element at {@code index}, one coordinate per dimension, to {@code value}.
     *
     * @throws IllegalArgumentException if {@code index} does not have one coordinate per dimension,
     *     or the memory is read-only
     * @throws IndexOutOfBoundsException if a coordinate is out of its dimension's bounds
     * @throws IllegalStateException if the arena is closed
     */
    public void set(float value, long... index) {
        requireFloat32("set");
        segment.set(JAVA_FLOAT, offset(index), value);
    }

    /**
     * A copy of the elements in row-major order.
     *
     * @throws IllegalStateException if the arena is closed, or the tensor has more elements than
     *     an array can hold
     */
    public float[] toArray() {
        requireFloat32("toArray");
        return segment.toArray(JAVA_FLOAT);
    }

    private void requireFloat32(String method) {
        if (dtype != DType.FLOAT32) {
            throw new IllegalStateException(method + ": this tensor is " + dtype + ", not float32");
        }
    }

    /**
     * Like {@code Tensor[2, 3] native} or {@code Tensor[2] int64 heap}: the shape, the type when
     * not float32, and the kind of memory, not the contents.
     */
    @Override
    public String toString() {
        return "Tensor" + shape + (dtype == DType.FLOAT32 ? "" : " " + dtype) + (segment.isNative() ? " native" : " heap");
    }

    private long offset(long[] index) {
        Objects.requireNonNull(index, "index");
        int rank = shape.rank();
        if (index.length != rank) {
            throw new IllegalArgumentException(
                    "index has " + index.length + " coordinates, shape " + shape + " needs " + rank);
        }
        long linear = 0;
        for (int d = 0; d < rank; d++) {
            long size = shape.dim(d);
            if (index[d] < 0 || index[d] >= size) {
                throw new IndexOutOfBoundsException(
                        "index[" + d + "] must be in [0, " + size + ") for shape " + shape + ", was " + index[d]);
            }
            linear = linear * size + index[d];
        }
        return linear * dtype.byteSize();
    }

    private static long byteSize(Shape shape) {
        return byteSize(shape, DType.FLOAT32);
    }

    private static long byteSize(Shape shape, DType dtype) {
        try {
            return Math.multiplyExact(shape.numel(), dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("shape " + shape + " needs more than Long.MAX_VALUE bytes", e);
        }
    }
}
