package org.softmax4j.internal;

import java.lang.foreign.MemorySegment;
import java.util.Objects;
import org.softmax4j.DType;

/**
 * The argument checks shared by every public entry point, run before any memory is written so
 * that a rejected call leaves its output untouched. Each message names the argument and what was
 * expected of it.
 *
 * <p>Not part of the API: public only so that {@code org.softmax4j} can reach it.
 */
public final class Checks {
    private Checks() {}

    /**
     * Checks the arguments of a forward call: {@code x} is read, {@code y} written, and {@code y}
     * is either the very same memory as {@code x} (in place) or disjoint from it.
     *
     * @return the number of bytes each of {@code x} and {@code y} is used for
     */
    public static long forward(String xName, MemorySegment x, String yName, MemorySegment y, long rows, long cols) {
        Objects.requireNonNull(x, xName);
        Objects.requireNonNull(y, yName);
        long bytes = byteSize(rows, cols);
        requireAlive(xName, x);
        requireAlive(yName, y);
        requireInput(xName, x, bytes);
        requireOutput(yName, y, bytes);
        requireSameOrDisjoint(yName, y, xName, x, bytes);
        return bytes;
    }

    /**
     * Checks the arguments of a backward call: {@code gy} and {@code y} are read (they may
     * overlap each other), {@code gx} is written and is the very same memory as {@code gy} or as
     * {@code y}, or disjoint from each.
     *
     * @return the number of bytes each segment is used for
     */
    public static long backward(
            String gyName, MemorySegment gy,
            String yName, MemorySegment y,
            String gxName, MemorySegment gx,
            long rows, long cols) {
        Objects.requireNonNull(gy, gyName);
        Objects.requireNonNull(y, yName);
        Objects.requireNonNull(gx, gxName);
        long bytes = byteSize(rows, cols);
        requireAlive(gyName, gy);
        requireAlive(yName, y);
        requireAlive(gxName, gx);
        requireInput(gyName, gy, bytes);
        requireInput(yName, y, bytes);
        requireOutput(gxName, gx, bytes);
        requireSameOrDisjoint(gxName, gx, gyName, gy, bytes);
        requireSameOrDisjoint(gxName, gx, yName, y, bytes);
        return bytes;
    }

    /**
     * {@link #forward(String, MemorySegment, String, MemorySegment, long, long)} for arrays. Two
     * arrays are either the same memory or share none, so arrays need no overlap check. The
     * entries on arrays check them here and wrap them in segments only for the kernel call: the
     * segment checks on three wrapped arrays kept the JIT from removing the wrappers, which cost
     * 216 bytes and 30-40 ns a call on a 1x10 backward.
     */
    public static void forward(String xName, float[] x, String yName, float[] y, int rows, int cols) {
        Objects.requireNonNull(x, xName);
        Objects.requireNonNull(y, yName);
        long floats = byteSize(rows, cols) / Float.BYTES;
        requireLength(xName, x, floats);
        requireLength(yName, y, floats);
    }

    /**
     * {@link #backward(String, MemorySegment, String, MemorySegment, String, MemorySegment, long,
     * long)} for arrays, as {@link #forward(String, float[], String, float[], int, int)} says.
     */
    public static void backward(
            String gyName, float[] gy, String yName, float[] y, String gxName, float[] gx, int rows, int cols) {
        Objects.requireNonNull(gy, gyName);
        Objects.requireNonNull(y, yName);
        Objects.requireNonNull(gx, gxName);
        long floats = byteSize(rows, cols) / Float.BYTES;
        requireLength(gyName, gy, floats);
        requireLength(yName, y, floats);
        requireLength(gxName, gx, floats);
    }

    private static void requireLength(String name, float[] array, long floats) {
        if (array.length < floats) {
            throw new IndexOutOfBoundsException(name + " holds " + array.length + " floats, needs rows * cols = " + floats);
        }
    }

    /**
     * {@link #forward(String, MemorySegment, String, MemorySegment, long, long)} for elements of
     * {@code dtype}: sizes in its bytes, heap memory over its array type ({@code short[]} for the
     * 16-bit floats).
     */
    public static long forward(String xName, MemorySegment x, String yName, MemorySegment y, long rows, long cols,
            DType dtype) {
        if (dtype == DType.FLOAT32) {
            return forward(xName, x, yName, y, rows, cols);
        }
        Objects.requireNonNull(x, xName);
        Objects.requireNonNull(y, yName);
        long bytes = byteSize(rows, cols, dtype);
        requireAlive(xName, x);
        requireAlive(yName, y);
        requireInput(xName, x, bytes, dtype);
        requireInput(yName, y, bytes, dtype);
        requireWritable(yName, y);
        requireSameOrDisjoint(yName, y, xName, x, bytes);
        return bytes;
    }

    /** {@link #backward(String, MemorySegment, String, MemorySegment, String, MemorySegment, long, long)} for elements of {@code dtype}. */
    public static long backward(
            String gyName, MemorySegment gy,
            String yName, MemorySegment y,
            String gxName, MemorySegment gx,
            long rows, long cols, DType dtype) {
        if (dtype == DType.FLOAT32) {
            return backward(gyName, gy, yName, y, gxName, gx, rows, cols);
        }
        Objects.requireNonNull(gy, gyName);
        Objects.requireNonNull(y, yName);
        Objects.requireNonNull(gx, gxName);
        long bytes = byteSize(rows, cols, dtype);
        requireAlive(gyName, gy);
        requireAlive(yName, y);
        requireAlive(gxName, gx);
        requireInput(gyName, gy, bytes, dtype);
        requireInput(yName, y, bytes, dtype);
        requireInput(gxName, gx, bytes, dtype);
        requireWritable(gxName, gx);
        requireSameOrDisjoint(gxName, gx, gyName, gy, bytes);
        requireSameOrDisjoint(gxName, gx, yName, y, bytes);
        return bytes;
    }

    /**
     * {@code rows * cols * dtype.byteSize()}, after checking that both are {@code >= 0} and the
     * product fits in a {@code long}.
     *
     * @throws IllegalArgumentException if not
     */
    public static long byteSize(long rows, long cols, DType dtype) {
        if (rows < 0) {
            throw new IllegalArgumentException("rows must be >= 0, was " + rows);
        }
        if (cols < 0) {
            throw new IllegalArgumentException("cols must be >= 0, was " + cols);
        }
        int size = dtype.byteSize();
        try {
            return Math.multiplyExact(Math.multiplyExact(rows, cols), size);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("rows * cols * " + size + " must fit in a long, was " + rows + " * "
                    + cols + " * " + size, e);
        }
    }

    /**
     * Checks that {@code segment} holds at least {@code bytes} bytes that native code can read as
     * elements of {@code dtype} (see {@link #requireMemory}).
     */
    public static void requireInput(String name, MemorySegment segment, long bytes, DType dtype) {
        if (segment.byteSize() < bytes) {
            throw new IndexOutOfBoundsException(name + " holds " + segment.byteSize() + " bytes, needs rows * cols * "
                    + dtype.byteSize() + " = " + bytes);
        }
        requireMemory(name, segment, dtype);
    }

    /**
     * Checks what {@link #requireInput(String, MemorySegment, long, DType)} checks, and that
     * {@code segment} is writable.
     *
     * @throws IllegalArgumentException if it is read-only
     */
    public static void requireOutput(String name, MemorySegment segment, long bytes, DType dtype) {
        requireInput(name, segment, bytes, dtype);
        requireWritable(name, segment);
    }

    private static void requireWritable(String name, MemorySegment segment) {
        if (segment.isReadOnly()) {
            throw new IllegalArgumentException(name + " is read-only, but it is written");
        }
    }

    /**
     * Checks that native code can read {@code segment} as elements of {@code dtype}: a heap
     * segment must be backed by the array type of {@code dtype} ({@code float[]}, {@code double[]},
     * {@code short[]} for bfloat16 and float16), and the first element aligned to its size.
     *
     * @throws IllegalArgumentException if not
     */
    public static void requireMemory(String name, MemorySegment segment, DType dtype) {
        if (dtype == DType.FLOAT32) {
            requireFloatMemory(name, segment);
            return;
        }
        int size = dtype.byteSize();
        Class<?> array = switch (dtype) {
            case FLOAT64 -> double[].class;
            case BFLOAT16, FLOAT16 -> short[].class;
            case INT32 -> int[].class;
            case INT64 -> long[].class;
            default -> float[].class;
        };
        Object base = segment.heapBase().orElse(null); // hidden when read-only
        if (!segment.isNative() && base != null && base.getClass() != array) {
            throw new IllegalArgumentException(name + " must be native memory or a heap segment over a "
                    + array.getSimpleName() + " for " + dtype + ", was a heap segment over "
                    + base.getClass().getSimpleName());
        }
        boolean aligned;
        if (segment.isNative() || base != null) {
            aligned = (segment.address() & (size - 1)) == 0;
        } else {
            try {
                segment.asSlice(0, 0, size);
                aligned = true;
            } catch (IllegalArgumentException e) {
                aligned = false;
            }
        }
        if (!aligned) {
            throw new IllegalArgumentException(name + " must be " + size + "-byte aligned for " + dtype
                    + ", starts at " + (segment.isNative() ? "address 0x" + Long.toHexString(segment.address())
                    : "byte " + segment.address() + " of its array"));
        }
    }

    /**
     * Checks that {@code rows} and {@code cols} are {@code >= 0} and that {@code rows * cols}
     * floats fit in a {@code long} count of bytes.
     *
     * @return {@code rows * cols * 4}
     * @throws IllegalArgumentException if not
     */
    public static long byteSize(long rows, long cols) {
        if (rows < 0) {
            throw new IllegalArgumentException("rows must be >= 0, was " + rows);
        }
        if (cols < 0) {
            throw new IllegalArgumentException("cols must be >= 0, was " + cols);
        }
        try {
            return Math.multiplyExact(Math.multiplyExact(rows, cols), Float.BYTES);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(
                    "rows * cols * 4 must fit in a long, was " + rows + " * " + cols + " * 4", e);
        }
    }

    /**
     * Checks that the arena of {@code segment} is open and that this thread may access it.
     *
     * @throws IllegalStateException if the arena is closed
     * @throws WrongThreadException if the arena is confined to another thread
     */
    public static void requireAlive(String name, MemorySegment segment) {
        if (!segment.scope().isAlive()) {
            throw new IllegalStateException(name + ": its arena is closed");
        }
        if (!segment.isAccessibleBy(Thread.currentThread())) {
            throw new WrongThreadException(name + ": its arena is confined to another thread");
        }
    }

    /**
     * Checks that {@code segment} holds at least {@code bytes} bytes of float memory, as
     * {@link #requireFloatMemory} defines it.
     *
     * @throws IndexOutOfBoundsException if it is too small
     * @throws IllegalArgumentException if it is not float memory
     */
    public static void requireInput(String name, MemorySegment segment, long bytes) {
        if (segment.byteSize() < bytes) {
            throw new IndexOutOfBoundsException(
                    name + " holds " + segment.byteSize() + " bytes, needs rows * cols * 4 = " + bytes);
        }
        requireFloatMemory(name, segment);
    }

    /**
     * Checks what {@link #requireInput} checks, and that {@code segment} is writable.
     *
     * @throws IllegalArgumentException if it is read-only
     */
    public static void requireOutput(String name, MemorySegment segment, long bytes) {
        requireInput(name, segment, bytes);
        if (segment.isReadOnly()) {
            throw new IllegalArgumentException(name + " is read-only, but it is written");
        }
    }

    /**
     * Checks that {@code segment} can be read as floats by native code: a heap segment must be
     * backed by a {@code float[]}, and the first float must be 4-byte aligned.
     *
     * <p>A read-only heap segment hides its array, so only its alignment is checked; that still
     * rejects {@code byte[]} and {@code short[]} storage.
     *
     * @throws IllegalArgumentException if not
     */
    public static void requireFloatMemory(String name, MemorySegment segment) {
        if (segment.isNative()) {
            if (!isFloatAligned(segment)) {
                throw new IllegalArgumentException(
                        name + " must be 4-byte aligned, its address is 0x" + Long.toHexString(segment.address()));
            }
            return;
        }
        Object base = segment.heapBase().orElse(null); // hidden when read-only
        if (base != null && !(base instanceof float[])) {
            throw new IllegalArgumentException(name + " must be native memory or a heap segment over a float[],"
                    + " was a heap segment over " + base.getClass().getSimpleName());
        }
        if (!isFloatAligned(segment)) {
            throw new IllegalArgumentException(name + " must start at a multiple of 4 bytes in a float[], starts at byte "
                    + segment.address() + " of a " + (base == null ? "read-only array of hidden type" : "float[]"));
        }
    }

    /**
     * Checks that the first {@code bytes} bytes of {@code out} are either the very same memory as
     * the first {@code bytes} bytes of {@code in} (in-place use) or do not overlap them.
     *
     * @throws IllegalArgumentException if they overlap partly
     */
    public static void requireSameOrDisjoint(String outName, MemorySegment out, String inName, MemorySegment in, long bytes) {
        if (bytes == 0) {
            return;
        }
        // Same length, so the overlap is whole only when the ranges are identical.
        long overlap = overlap(out, in, bytes);
        if (overlap != 0 && overlap != bytes) {
            throw new IllegalArgumentException(outName + " overlaps " + inName + " without being the same memory");
        }
    }

    /**
     * Checks that the first {@code bytes} bytes of {@code out} and of {@code in} share no byte.
     *
     * @throws IllegalArgumentException if they do
     */
    public static void requireDisjoint(String outName, MemorySegment out, String inName, MemorySegment in, long bytes) {
        if (bytes != 0 && overlap(out, in, bytes) != 0) {
            throw new IllegalArgumentException(outName + " overlaps " + inName + ", which must stay intact");
        }
    }

    /**
     * Whether the start of {@code segment} is 4-byte aligned; for a heap segment, that also takes
     * the element size of its array (1 for {@code byte[]}) into account.
     */
    private static boolean isFloatAligned(MemorySegment segment) {
        // A heap segment's address is its byte offset in the array; a float[] holds every float
        // at a multiple of 4 bytes, so the offset alone decides for both kinds.
        if (segment.isNative() || segment.heapBase().orElse(null) instanceof float[]) {
            return (segment.address() & (Float.BYTES - 1)) == 0;
        }
        try {
            segment.asSlice(0, 0, Float.BYTES); // also knows the hidden array of a read-only segment
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /**
     * The number of bytes that the first {@code bytes} bytes of {@code a} and of {@code b} share.
     * Address arithmetic when the memory is visible (native, or heap with a known array), which
     * allocates nothing; the slices of the JDK otherwise.
     */
    private static long overlap(MemorySegment a, MemorySegment b, long bytes) {
        if (bytes <= a.byteSize() && bytes <= b.byteSize()) {
            if (a.isNative() != b.isNative()) {
                return 0;
            }
            if (a.isNative()) {
                return overlap(a.address(), b.address(), bytes);
            }
            Object baseA = a.heapBase().orElse(null);
            Object baseB = b.heapBase().orElse(null);
            if (baseA != null && baseB != null) {
                return baseA == baseB ? overlap(a.address(), b.address(), bytes) : 0;
            }
        }
        return a.asSlice(0, bytes)
                .asOverlappingSlice(b.asSlice(0, bytes))
                .map(MemorySegment::byteSize)
                .orElse(0L);
    }

    /** The overlap of {@code [a, a + bytes)} and {@code [b, b + bytes)}. */
    private static long overlap(long a, long b, long bytes) {
        return Math.max(0, bytes - Math.abs(a - b));
    }
}
