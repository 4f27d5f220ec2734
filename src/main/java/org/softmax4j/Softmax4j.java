package org.softmax4j;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.softmax4j.internal.Backends;
import org.softmax4j.internal.Checks;
import org.softmax4j.internal.NativeBackend;
import org.softmax4j.internal.RowParallel;

/**
 * Row-wise log-softmax over a row-major {@code [rows, cols]} float32 matrix held in arrays or
 * memory segments, for callers that manage their own memory; and what this machine runs it with.
 *
 * <p>Per row, forward computes {@code y = (x - max) - log(sum(exp(x - max)))} and backward
 * {@code gx = gy - exp(y) * sum(gy)} from the forward output {@code y}. Special values follow
 * PyTorch: {@code -inf} entries give {@code -inf} and leave the rest of the row as if they were
 * absent; a row of only {@code -inf}, or with any {@code +inf} or NaN, gives NaN throughout.
 *
 * <p>Every method checks its arguments before writing anything, and writes nothing when a check
 * fails:
 *
 * <ul>
 *   <li>{@link NullPointerException} for a null array or segment;
 *   <li>{@link IllegalArgumentException} when {@code rows} or {@code cols} is negative, when
 *       {@code rows * cols * 4} overflows, when an output is read-only, when a segment is not
 *       4-byte aligned native memory or a heap segment over a {@code float[]}, and when an output
 *       partly overlaps an input (the very same memory, in place, is allowed);
 *   <li>{@link IndexOutOfBoundsException} when an array or segment holds fewer than
 *       {@code rows * cols} floats (only the first {@code rows * cols} are used);
 *   <li>{@link IllegalStateException} when the arena of a segment is closed, and
 *       {@link WrongThreadException} when it is confined to another thread.
 * </ul>
 *
 * <p>Heap memory ({@code float[]} or a heap segment over one) goes to the native kernels without
 * a copy, through a critical call during which the garbage collector waits; for very large work
 * on a latency-sensitive JVM, prefer native memory, which large calls reach without holding off
 * the collector.
 *
 * <p>All methods are thread-safe: concurrent calls may share inputs, as long as each writes its
 * own output. Each call runs on the caller thread, unless given a {@link Parallelism} of more
 * than one thread and enough work to share.
 */
public final class Softmax4j {
    private Softmax4j() {}

    /**
     * Log-softmax forward from {@code x} into {@code y}, which may be {@code x} (in place).
     * Checks its arguments as the class documentation says.
     */
    public static void logSoftmaxForward(float[] x, float[] y, int rows, int cols) {
        Checks.forward("x", x, "y", y, rows, cols);
        Backends.get().forward(MemorySegment.ofArray(x), MemorySegment.ofArray(y), rows, cols);
    }

    /**
     * Log-softmax forward from {@code x} into {@code y}, which may be {@code x} (in place).
     * Segments may be native or heap memory.
     * Checks its arguments as the class documentation says.
     */
    public static void logSoftmaxForward(MemorySegment x, MemorySegment y, long rows, long cols) {
        Checks.forward("x", x, "y", y, rows, cols);
        Backends.get().forward(x, y, rows, cols);
    }

    /**
     * Log-softmax backward: the gradient {@code gx} with respect to the input, from the gradient
     * {@code gy} with respect to the output and the forward output {@code y}. {@code gx} may be
     * {@code gy} or {@code y} (in place).
     * Checks its arguments as the class documentation says.
     */
    public static void logSoftmaxBackward(float[] gy, float[] y, float[] gx, int rows, int cols) {
        Checks.backward("gy", gy, "y", y, "gx", gx, rows, cols);
        Backends.get().backward(MemorySegment.ofArray(gy), MemorySegment.ofArray(y), MemorySegment.ofArray(gx),
                rows, cols);
    }

    /**
     * Log-softmax backward: the gradient {@code gx} with respect to the input, from the gradient
     * {@code gy} with respect to the output and the forward output {@code y}. {@code gx} may be
     * {@code gy} or {@code y} (in place). Segments may be native or heap memory.
     * Checks its arguments as the class documentation says.
     */
    public static void logSoftmaxBackward(MemorySegment gy, MemorySegment y, MemorySegment gx, long rows, long cols) {
        Checks.backward("gy", gy, "y", y, "gx", gx, rows, cols);
        Backends.get().backward(gy, y, gx, rows, cols);
    }

    /**
     * {@link #logSoftmaxForward(float[], float[], int, int)} on up to {@code parallelism.threads()}
     * threads, each on a slice of rows, when the work is large enough (see {@link Parallelism}).
     * Every check runs on the caller thread before any work starts.
     */
    public static void logSoftmaxForward(float[] x, float[] y, int rows, int cols, Parallelism parallelism) {
        Objects.requireNonNull(parallelism, "parallelism");
        Checks.forward("x", x, "y", y, rows, cols);
        RowParallel.forward(Backends.get(), MemorySegment.ofArray(x), MemorySegment.ofArray(y), rows, cols,
                parallelism.threadsFor(rows, cols));
    }

    /**
     * {@link #logSoftmaxForward(MemorySegment, MemorySegment, long, long)} on up to
     * {@code parallelism.threads()} threads, each on a slice of rows, when the work is large
     * enough (see {@link Parallelism}). Every check runs on the caller thread before any work
     * starts; segments of a confined arena are fine (the caller thread waits for every slice).
     */
    public static void logSoftmaxForward(
            MemorySegment x, MemorySegment y, long rows, long cols, Parallelism parallelism) {
        Objects.requireNonNull(parallelism, "parallelism");
        Checks.forward("x", x, "y", y, rows, cols);
        RowParallel.forward(Backends.get(), x, y, rows, cols, parallelism.threadsFor(rows, cols));
    }

    /**
     * {@link #logSoftmaxBackward(float[], float[], float[], int, int)} on up to
     * {@code parallelism.threads()} threads, each on a slice of rows, when the work is large
     * enough (see {@link Parallelism}). Every check runs on the caller thread before any work
     * starts.
     */
    public static void logSoftmaxBackward(
            float[] gy, float[] y, float[] gx, int rows, int cols, Parallelism parallelism) {
        Objects.requireNonNull(parallelism, "parallelism");
        Checks.backward("gy", gy, "y", y, "gx", gx, rows, cols);
        RowParallel.backward(Backends.get(), MemorySegment.ofArray(gy), MemorySegment.ofArray(y),
                MemorySegment.ofArray(gx), rows, cols, parallelism.threadsFor(rows, cols));
    }

    /**
     * {@link #logSoftmaxBackward(MemorySegment, MemorySegment, MemorySegment, long, long)} on up
     * to {@code parallelism.threads()} threads, each on a slice of rows, when the work is large
     * enough (see {@link Parallelism}). Every check runs on the caller thread before any work
     * starts; segments of a confined arena are fine (the caller thread waits for every slice).
     */
    public static void logSoftmaxBackward(
            MemorySegment gy, MemorySegment y, MemorySegment gx, long rows, long cols, Parallelism parallelism) {
        Objects.requireNonNull(parallelism, "parallelism");
        Checks.backward("gy", gy, "y", y, "gx", gx, rows, cols);
        RowParallel.backward(Backends.get(), gy, y, gx, rows, cols, parallelism.threadsFor(rows, cols));
    }

    /**
     * The backend in use: {@code "native"} (the C kernels) or {@code "java"} (the pure-Java
     * fallback). It is chosen on first use, from the system property {@code softmax4j.backend}:
     * {@code auto} (the default) takes the native one when the library loads, {@code native}
     * requires it, {@code java} forces the fallback.
     *
     * @throws IllegalStateException if no backend can be used: {@code softmax4j.backend=native}
     *     and the library cannot load, or {@code SOFTMAX4J_ISA} forces a variant this CPU lacks
     */
    public static String backend() {
        return Backends.get().name();
    }

    /**
     * The kernel variant in use: {@code "avx512"}, {@code "avx2"} or {@code "scalar"} for the
     * native backend, {@code "java"} for the fallback.
     *
     * @throws IllegalStateException as {@link #backend()}
     */
    public static String isa() {
        return Backends.get().isa();
    }

    /**
     * The CPU features that matter to the native kernels, space-separated (like
     * {@code "avx avx2 fma avx512f"}); empty on the java backend.
     *
     * @throws IllegalStateException as {@link #backend()}
     */
    public static String cpuFeatures() {
        return isNative() ? NativeBackend.cpuFeatures() : "";
    }

    /**
     * Why the java backend is in use, or empty when the native one is.
     *
     * @throws IllegalStateException as {@link #backend()}
     */
    public static Optional<String> fallbackReason() {
        return Backends.fallbackReason();
    }

    /**
     * The native kernel variants this CPU can run, slowest first (like
     * {@code [scalar, avx2, avx512]}); empty on the java backend.
     *
     * @throws IllegalStateException as {@link #backend()}
     */
    public static List<String> supportedIsas() {
        return isNative() ? NativeBackend.supportedVariants() : List.of();
    }

    private static boolean isNative() {
        return Backends.get() instanceof NativeBackend;
    }
}
