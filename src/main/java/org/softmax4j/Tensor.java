package org.softmax4j;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;
import org.softmax4j.internal.Checks;
import org.softmax4j.internal.HalfFloats;

/**
 * A row-major tensor: a view of {@code shape.numel() * dtype.byteSize()} bytes of a
 * {@link MemorySegment} with a {@link Shape} and a {@link DType}. Float32 unless made otherwise:
 * the int32 and int64 tensors ({@link #wrap(int[], long...)}, {@link #wrap(long[], long...)},
 * {@link #copyOf(Arena, int[], long...)}, {@link #copyOf(Arena, long[], long...)},
 * {@link #allocate(Arena, DType, long...)}) hold class indices for the losses; the float ops
 * reject them with {@link IllegalArgumentException}.
 *
 * <p>Float64 tensors come from {@code double[]} ({@link #wrap(double[], long...)},
 * {@link #copyOf(Arena, double[], long...)}); bfloat16 and float16 tensors from {@code short[]}
 * bit patterns with the type named ({@link #wrap(short[], DType, long...)},
 * {@link #copyOf(Arena, short[], DType, long...)}); any type from memory
 * ({@link #wrap(MemorySegment, DType, long...)}, {@link #allocate(Arena, DType, long...)}).
 * {@link #getDouble}, {@link #setDouble} and {@link #toDoubleArray()} read and write every
 * floating type as double.
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
    /** Elements from the start of one row (of the last dimension) to the next: cols when contiguous. */
    private final long rowStride;

    private Tensor(MemorySegment segment, Shape shape) {
        this(segment, shape, DType.FLOAT32);
    }

    private Tensor(MemorySegment segment, Shape shape, DType dtype) {
        this(segment, shape, dtype, shape.cols());
    }

    private Tensor(MemorySegment segment, Shape shape, DType dtype, long rowStride) {
        this.segment = segment;
        this.shape = shape;
        this.dtype = dtype;
        this.rowStride = rowStride;
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

    /**
     * Allocates a float64 tensor in {@code arena} holding a copy of {@code data}.
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the shape is invalid, or {@code data.length} is not its
     *     number of elements
     * @throws IllegalStateException if {@code arena} is closed
     */
    public static Tensor copyOf(Arena arena, double[] data, long... shape) {
        Objects.requireNonNull(arena, "arena");
        Objects.requireNonNull(data, "data");
        Shape s = requireLength(data.length, "doubles", shape);
        Tensor tensor = allocate(arena, DType.FLOAT64, s);
        MemorySegment.copy(data, 0, tensor.segment, JAVA_DOUBLE, 0, data.length);
        return tensor;
    }

    /**
     * A float64 tensor over the first {@code numel} elements of {@code array}, without a copy.
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the shape is invalid
     * @throws IndexOutOfBoundsException if {@code array} has fewer than {@code numel} elements
     */
    public static Tensor wrap(double[] array, long... shape) {
        Objects.requireNonNull(array, "array");
        Shape s = requireCapacity(array.length, "doubles", shape);
        return new Tensor(MemorySegment.ofArray(array).asSlice(0, s.numel() * Double.BYTES), s, DType.FLOAT64);
    }

    /**
     * Allocates a bfloat16 or float16 tensor in {@code arena} holding a copy of {@code bits}, the
     * elements' 16-bit patterns.
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if {@code dtype} is not bfloat16 or float16, the shape is
     *     invalid, or {@code bits.length} is not its number of elements
     * @throws IllegalStateException if {@code arena} is closed
     */
    public static Tensor copyOf(Arena arena, short[] bits, DType dtype, long... shape) {
        Objects.requireNonNull(arena, "arena");
        Objects.requireNonNull(bits, "bits");
        requireHalf(dtype);
        Shape s = requireLength(bits.length, "shorts", shape);
        Tensor tensor = allocate(arena, dtype, s);
        MemorySegment.copy(bits, 0, tensor.segment, JAVA_SHORT, 0, bits.length);
        return tensor;
    }

    /**
     * A bfloat16 or float16 tensor over the first {@code numel} 16-bit patterns of {@code array},
     * without a copy.
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if {@code dtype} is not bfloat16 or float16, or the shape is
     *     invalid
     * @throws IndexOutOfBoundsException if {@code array} has fewer than {@code numel} elements
     */
    public static Tensor wrap(short[] array, DType dtype, long... shape) {
        Objects.requireNonNull(array, "array");
        requireHalf(dtype);
        Shape s = requireCapacity(array.length, "shorts", shape);
        return new Tensor(MemorySegment.ofArray(array).asSlice(0, s.numel() * Short.BYTES), s, dtype);
    }

    /**
     * A tensor of {@code dtype} over the first {@code numel * dtype.byteSize()} bytes of
     * {@code segment}, without a copy.
     *
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if the shape is invalid; if {@code segment} is a heap segment
     *     over another array type than {@code dtype}'s; if it is not aligned to the element size
     * @throws IndexOutOfBoundsException if {@code segment} is too small
     * @throws IllegalStateException if the arena of {@code segment} is closed
     */
    public static Tensor wrap(MemorySegment segment, DType dtype, long... shape) {
        Objects.requireNonNull(segment, "segment");
        Objects.requireNonNull(dtype, "dtype");
        Shape s = new Shape(shape);
        long bytes = byteSize(s, dtype);
        if (!segment.scope().isAlive()) {
            throw new IllegalStateException("segment: its arena is closed");
        }
        if (segment.byteSize() < bytes) {
            throw new IndexOutOfBoundsException("segment holds " + segment.byteSize() + " bytes, needs numel * "
                    + dtype.byteSize() + " = " + bytes + " for shape " + s);
        }
        Checks.requireMemory("segment", segment, dtype);
        return new Tensor(segment.asSlice(0, bytes), s, dtype);
    }

    private static void requireHalf(DType dtype) {
        Objects.requireNonNull(dtype, "dtype");
        if (!dtype.isHalf()) {
            throw new IllegalArgumentException("dtype must be bfloat16 or float16 for short bits, was " + dtype);
        }
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

    /**
     * The memory of this tensor: exactly {@code numel() * dtype().byteSize()} bytes, in row-major
     * order.
     *
     * @throws IllegalStateException if this is a view with strided rows ({@link #narrow}), whose
     *     elements are not one run of memory
     */
    public MemorySegment segment() {
        if (!isContiguous()) {
            throw new IllegalStateException("this tensor is a view with strided rows (shape " + shape
                    + ", row stride " + rowStride + "): its memory is not one run of " + shape.numel()
                    + " elements; use a contiguous tensor, or an operation that takes such views"
                    + " (LogSoftmax, Softmax over the last dimension)");
        }
        return segment;
    }

    /**
     * The memory a view spans, from its first element to its last ({@code (rows - 1) * rowStride
     * + cols} elements), gaps included; the same as {@link #segment()} for a contiguous tensor.
     */
    MemorySegment span() {
        return segment;
    }

    /**
     * Whether the elements are one run of memory in row-major order: true for every tensor but
     * the views {@link #narrow} makes along the last dimension.
     */
    public boolean isContiguous() {
        return rowStride == shape.cols() || shape.rows() <= 1 || shape.numel() == 0;
    }

    /**
     * The number of elements from the start of one row of the last dimension to the start of the
     * next: {@code shape().cols()} for a contiguous tensor, more for a view of some of the columns
     * of a larger one.
     */
    public long rowStride() {
        return rowStride;
    }

    /**
     * A view of the elements {@code [start, start + length)} along dimension {@code dim} (negative
     * counting from the end), sharing this tensor's memory without a copy, like PyTorch's
     * {@code narrow}. Along the first dimension the view takes whole rows; along the last it
     * takes some of the columns of every row, so its rows are {@link #rowStride()} elements apart
     * and it is not contiguous (unless it keeps every column). Other dimensions are not supported.
     *
     * @throws IllegalArgumentException if {@code dim} is out of range, or is neither the first nor
     *     the last dimension
     * @throws IndexOutOfBoundsException if {@code [start, start + length)} is not within the
     *     dimension
     */
    public Tensor narrow(int dim, long start, long length) {
        int d = shape.normalize(dim);
        long size = shape.dims()[d];
        if (start < 0 || length < 0 || start > size - length) {
            throw new IndexOutOfBoundsException("narrow: [start, start + length) must be within [0, " + size
                    + ") along dim " + dim + " of " + shape + ", was start " + start + ", length " + length);
        }
        int last = shape.rank() - 1;
        if (d != 0 && d != last) {
            throw new IllegalArgumentException("narrow: dim must be the first (0) or the last (" + last
                    + " or -1) dimension of " + shape + ", was " + dim);
        }
        long[] dims = shape.dims();
        long elementBytes = dtype.byteSize();
        long offset;
        if (d == last) {
            offset = start * elementBytes;
        } else {
            long rowsPerEntry = shape.numel() == 0 ? 0 : shape.rows() / size;
            offset = start * rowsPerEntry * rowStride * elementBytes;
        }
        dims[d] = length;
        Shape viewShape = new Shape(dims);
        long spanBytes = spanElements(viewShape, rowStride) * elementBytes;
        return new Tensor(segment.asSlice(offset, spanBytes), viewShape, dtype, rowStride);
    }

    /**
     * This tensor when it is contiguous; otherwise a contiguous copy of its elements, of the same
     * shape and dtype, allocated in {@code arena}.
     *
     * @throws IllegalStateException if an arena is closed
     */
    public Tensor contiguous(Arena arena) {
        Objects.requireNonNull(arena, "arena");
        if (isContiguous()) {
            return this;
        }
        Tensor copy = allocate(arena, dtype, shape);
        MemorySegment.copy(contiguousCopy(), 0, copy.segment, 0, copy.segment.byteSize());
        return copy;
    }

    /** The elements a view of {@code shape} with rows {@code rowStride} apart spans. */
    private static long spanElements(Shape shape, long rowStride) {
        long rows = shape.rows();
        long cols = shape.cols();
        return rows == 0 || cols == 0 ? 0 : (rows - 1) * rowStride + cols;
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
        return shape.numel();
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
            default -> throw new IllegalStateException("getLong: this tensor is " + dtype + ", use "
                    + (dtype == DType.FLOAT32 ? "get" : "getDouble"));
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
        return contiguousCopy().toArray(JAVA_FLOAT);
    }

    /**
     * The element at {@code index} of a floating tensor (float32, float64, bfloat16, float16), as
     * a double (exact).
     *
     * @throws IllegalStateException if the tensor is an integer one, or the arena is closed
     * @throws IllegalArgumentException if {@code index} does not have one coordinate per dimension
     * @throws IndexOutOfBoundsException if a coordinate is out of its dimension's bounds
     */
    public double getDouble(long... index) {
        requireFloating("getDouble");
        return read(offset(index));
    }

    /**
     * Sets the element at {@code index} of a floating tensor to {@code value}, rounded to nearest
     * (ties to even) in the tensor's type.
     *
     * @throws IllegalStateException if the tensor is an integer one, or the arena is closed
     * @throws IllegalArgumentException if {@code index} does not have one coordinate per dimension,
     *     or the memory is read-only
     * @throws IndexOutOfBoundsException if a coordinate is out of its dimension's bounds
     */
    public void setDouble(double value, long... index) {
        requireFloating("setDouble");
        long offset = offset(index);
        switch (dtype) {
            case FLOAT64 -> segment.set(JAVA_DOUBLE, offset, value);
            case BFLOAT16 -> segment.set(JAVA_SHORT, offset, HalfFloats.floatToBfloat16((float) value));
            case FLOAT16 -> segment.set(JAVA_SHORT, offset, HalfFloats.floatToFloat16((float) value));
            default -> segment.set(JAVA_FLOAT, offset, (float) value);
        }
    }

    /**
     * A copy of the elements of a floating tensor in row-major order, as doubles (exact).
     *
     * @throws IllegalStateException if the tensor is an integer one, the arena is closed, or the
     *     tensor has more elements than an array can hold
     */
    public double[] toDoubleArray() {
        requireFloating("toDoubleArray");
        if (dtype == DType.FLOAT64) {
            return contiguousCopy().toArray(JAVA_DOUBLE);
        }
        long n = numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("toDoubleArray: " + n + " elements do not fit in an array");
        }
        double[] values = new double[(int) n];
        MemorySegment elements = contiguousCopy();
        for (int i = 0; i < values.length; i++) {
            values[i] = read(elements, (long) i * dtype.byteSize());
        }
        return values;
    }

    /**
     * A copy of the 16-bit patterns of a bfloat16 or float16 tensor in row-major order.
     *
     * @throws IllegalStateException if the tensor is of another type, the arena is closed, or the
     *     tensor has more elements than an array can hold
     */
    public short[] toShortArray() {
        if (!dtype.isHalf()) {
            throw new IllegalStateException("toShortArray: this tensor is " + dtype + ", not bfloat16 or float16");
        }
        return contiguousCopy().toArray(JAVA_SHORT);
    }

    private double read(long offset) {
        return read(segment, offset);
    }

    private double read(MemorySegment memory, long offset) {
        return switch (dtype) {
            case FLOAT64 -> memory.get(JAVA_DOUBLE, offset);
            case BFLOAT16 -> HalfFloats.bfloat16ToFloat(memory.get(JAVA_SHORT, offset));
            case FLOAT16 -> HalfFloats.float16ToFloat(memory.get(JAVA_SHORT, offset));
            default -> memory.get(JAVA_FLOAT, offset);
        };
    }

    /**
     * The elements in row-major order, one run: the memory itself when contiguous, a heap copy
     * of the rows of a strided view otherwise.
     */
    private MemorySegment contiguousCopy() {
        if (isContiguous()) {
            return segment;
        }
        long rows = shape.rows();
        long rowBytes = shape.cols() * dtype.byteSize();
        long bytes = rows * rowBytes;
        // A long[] keeps every element type aligned, as toArray's layouts require.
        MemorySegment copy = MemorySegment.ofArray(new long[Math.toIntExact((bytes + 7) / 8)]).asSlice(0, bytes);
        for (long r = 0; r < rows; r++) {
            MemorySegment.copy(segment, r * rowStride * dtype.byteSize(), copy, r * rowBytes, rowBytes);
        }
        return copy;
    }

    private void requireFloating(String method) {
        if (!dtype.isFloating()) {
            throw new IllegalStateException(method + ": this tensor is " + dtype + ", use getLong");
        }
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
        return "Tensor" + shape + (dtype == DType.FLOAT32 ? "" : " " + dtype)
                + (isContiguous() ? "" : " rowStride " + rowStride) + (segment.isNative() ? " native" : " heap");
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
        long cols = shape.cols();
        // Row-major within a row, rows rowStride apart (cols apart when contiguous).
        return (linear / cols * rowStride + linear % cols) * dtype.byteSize();
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
