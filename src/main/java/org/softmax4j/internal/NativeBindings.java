package org.softmax4j.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.Locale;
import org.softmax4j.DType;

/**
 * The downcall handles to the log-softmax and information functions of {@code softmax4j.h}; with
 * {@link LossBindings} for the losses, the only classes that link {@code libsoftmax4j}.
 *
 * <p>Loading this class loads the library; it fails with {@link UnsatisfiedLinkError} when the
 * library or one of its symbols is missing, so touch it only through {@link NativeBackend}, which
 * does so once and remembers the outcome.
 *
 * <p>Each compute function has two handles. The critical one ({@link Linker.Option#critical})
 * skips the thread-state transition and accepts heap segments, passing the array's address
 * without a copy, but holds off the garbage collector for the length of the call: it is used for
 * heap memory and for small work. Large off-heap work goes through the ordinary handle.
 */
@SuppressWarnings("restricted")
final class NativeBindings {
    /** Work of at most this many elements is short enough (tens of microseconds) for a critical call. */
    static final long CRITICAL_MAX_ELEMENTS = 1L << 16;

    /** The kernels that can be called: the dispatched one and each variant by name. */
    enum Kernel {
        DISPATCHED, SCALAR, AVX2, AVX512
    }

    private static final Linker LINKER = Linker.nativeLinker();
    /** Package-private for {@link LossBindings}, which links the loss functions of the same library. */
    static final SymbolLookup LIBRARY = NativeLibraryLoader.load();

    private static final FunctionDescriptor FORWARD_TYPE =
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG);
    private static final FunctionDescriptor BACKWARD_TYPE =
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG);

    private static final MethodHandle FORWARD = compute("s4j_log_softmax_forward_f32", FORWARD_TYPE, false);
    private static final MethodHandle FORWARD_CRITICAL = compute("s4j_log_softmax_forward_f32", FORWARD_TYPE, true);
    private static final MethodHandle BACKWARD = compute("s4j_log_softmax_backward_f32", BACKWARD_TYPE, false);
    private static final MethodHandle BACKWARD_CRITICAL = compute("s4j_log_softmax_backward_f32", BACKWARD_TYPE, true);

    private static final MethodHandle FORWARD_SCALAR =
            compute("s4j_log_softmax_forward_f32_scalar", FORWARD_TYPE, false);
    private static final MethodHandle FORWARD_SCALAR_CRITICAL =
            compute("s4j_log_softmax_forward_f32_scalar", FORWARD_TYPE, true);
    private static final MethodHandle FORWARD_AVX2 = compute("s4j_log_softmax_forward_f32_avx2", FORWARD_TYPE, false);
    private static final MethodHandle FORWARD_AVX2_CRITICAL =
            compute("s4j_log_softmax_forward_f32_avx2", FORWARD_TYPE, true);
    private static final MethodHandle FORWARD_AVX512 =
            compute("s4j_log_softmax_forward_f32_avx512", FORWARD_TYPE, false);
    private static final MethodHandle FORWARD_AVX512_CRITICAL =
            compute("s4j_log_softmax_forward_f32_avx512", FORWARD_TYPE, true);

    private static final MethodHandle BACKWARD_SCALAR =
            compute("s4j_log_softmax_backward_f32_scalar", BACKWARD_TYPE, false);
    private static final MethodHandle BACKWARD_SCALAR_CRITICAL =
            compute("s4j_log_softmax_backward_f32_scalar", BACKWARD_TYPE, true);
    private static final MethodHandle BACKWARD_AVX2 =
            compute("s4j_log_softmax_backward_f32_avx2", BACKWARD_TYPE, false);
    private static final MethodHandle BACKWARD_AVX2_CRITICAL =
            compute("s4j_log_softmax_backward_f32_avx2", BACKWARD_TYPE, true);
    private static final MethodHandle BACKWARD_AVX512 =
            compute("s4j_log_softmax_backward_f32_avx512", BACKWARD_TYPE, false);
    private static final MethodHandle BACKWARD_AVX512_CRITICAL =
            compute("s4j_log_softmax_backward_f32_avx512", BACKWARD_TYPE, true);

    /** s4j_softmax_strided(op, dtype, direction, outer, dim, inner, in, stride, saved, stride, out, stride). */
    private static final FunctionDescriptor STRIDED_TYPE = FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT,
            JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG);
    private static final int DTYPE_F32 = 0;
    private static final int DTYPE_F64 = 1;
    private static final int DTYPE_BF16 = 2;
    private static final int DTYPE_F16 = 3;
    private static final int FORWARD_DIRECTION = 0;
    private static final int BACKWARD_DIRECTION = 1;

    private static final MethodHandle STRIDED = compute("s4j_softmax_strided", STRIDED_TYPE, false);
    private static final MethodHandle STRIDED_CRITICAL = compute("s4j_softmax_strided", STRIDED_TYPE, true);
    private static final MethodHandle STRIDED_SCALAR = compute("s4j_softmax_strided_scalar", STRIDED_TYPE, false);
    private static final MethodHandle STRIDED_SCALAR_CRITICAL =
            compute("s4j_softmax_strided_scalar", STRIDED_TYPE, true);
    private static final MethodHandle STRIDED_AVX2 = compute("s4j_softmax_strided_avx2", STRIDED_TYPE, false);
    private static final MethodHandle STRIDED_AVX2_CRITICAL = compute("s4j_softmax_strided_avx2", STRIDED_TYPE, true);
    private static final MethodHandle STRIDED_AVX512 = compute("s4j_softmax_strided_avx512", STRIDED_TYPE, false);
    private static final MethodHandle STRIDED_AVX512_CRITICAL =
            compute("s4j_softmax_strided_avx512", STRIDED_TYPE, true);

    /** s4j_logsumexp_forward_f32(x, out, outer, dim, inner) and _backward_f32(gy, x, gx, ...), per kernel. */
    private static final FunctionDescriptor LSE_FORWARD_TYPE =
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG);
    private static final FunctionDescriptor LSE_BACKWARD_TYPE =
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG);
    /** The floating dtypes' LogSumExp symbol suffixes, in {@link #lseIndex} order. */
    private static final String[] LSE_SUFFIXES = {"f32", "f64", "bf16", "f16"};
    /** [dtype][kernel]: each dtype's handles, as {@link #perKernel} orders them. */
    private static final MethodHandle[][] LSE_FORWARD = perType("s4j_logsumexp_forward_", LSE_FORWARD_TYPE, false);
    private static final MethodHandle[][] LSE_FORWARD_CRITICAL =
            perType("s4j_logsumexp_forward_", LSE_FORWARD_TYPE, true);
    private static final MethodHandle[][] LSE_BACKWARD =
            perType("s4j_logsumexp_backward_", LSE_BACKWARD_TYPE, false);
    private static final MethodHandle[][] LSE_BACKWARD_CRITICAL =
            perType("s4j_logsumexp_backward_", LSE_BACKWARD_TYPE, true);

    private static final MethodHandle ISA = info("s4j_isa", FunctionDescriptor.of(ADDRESS));
    private static final MethodHandle ISA_STATUS = info("s4j_isa_status", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle CPU_FEATURES = info("s4j_cpu_features", FunctionDescriptor.of(ADDRESS));
    private static final MethodHandle ISA_SUPPORTED =
            info("s4j_isa_supported", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle STRERROR = info("s4j_strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT));

    private NativeBindings() {}

    /** Does nothing; calling it loads the library and links every symbol, or throws. */
    static void link() {}

    /** Calls the forward kernel; returns its status code. */
    static int forward(Kernel kernel, MemorySegment x, MemorySegment y, long rows, long cols) {
        boolean critical = critical(rows * cols, x, y, y);
        try {
            return switch (kernel) {
                case DISPATCHED -> critical
                        ? (int) FORWARD_CRITICAL.invokeExact(x, y, rows, cols)
                        : (int) FORWARD.invokeExact(x, y, rows, cols);
                case SCALAR -> critical
                        ? (int) FORWARD_SCALAR_CRITICAL.invokeExact(x, y, rows, cols)
                        : (int) FORWARD_SCALAR.invokeExact(x, y, rows, cols);
                case AVX2 -> critical
                        ? (int) FORWARD_AVX2_CRITICAL.invokeExact(x, y, rows, cols)
                        : (int) FORWARD_AVX2.invokeExact(x, y, rows, cols);
                case AVX512 -> critical
                        ? (int) FORWARD_AVX512_CRITICAL.invokeExact(x, y, rows, cols)
                        : (int) FORWARD_AVX512.invokeExact(x, y, rows, cols);
            };
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Calls the backward kernel; returns its status code. */
    static int backward(Kernel kernel, MemorySegment gy, MemorySegment y, MemorySegment gx, long rows, long cols) {
        boolean critical = critical(rows * cols, gy, y, gx);
        try {
            return switch (kernel) {
                case DISPATCHED -> critical
                        ? (int) BACKWARD_CRITICAL.invokeExact(gy, y, gx, rows, cols)
                        : (int) BACKWARD.invokeExact(gy, y, gx, rows, cols);
                case SCALAR -> critical
                        ? (int) BACKWARD_SCALAR_CRITICAL.invokeExact(gy, y, gx, rows, cols)
                        : (int) BACKWARD_SCALAR.invokeExact(gy, y, gx, rows, cols);
                case AVX2 -> critical
                        ? (int) BACKWARD_AVX2_CRITICAL.invokeExact(gy, y, gx, rows, cols)
                        : (int) BACKWARD_AVX2.invokeExact(gy, y, gx, rows, cols);
                case AVX512 -> critical
                        ? (int) BACKWARD_AVX512_CRITICAL.invokeExact(gy, y, gx, rows, cols)
                        : (int) BACKWARD_AVX512.invokeExact(gy, y, gx, rows, cols);
            };
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Calls the family's strided entry point on contiguous {@code [outer, dim, inner]} tensors;
     * returns its status code. {@code saved} is read by the backward only ({@code null} for a
     * forward).
     */
    static int strided(Kernel kernel, SoftmaxOp op, boolean backward, MemorySegment in, MemorySegment saved,
            MemorySegment out, long outer, long dim, long inner) {
        return strided(kernel, op, DType.FLOAT32, backward, in, saved, out, outer, dim, inner);
    }

    /** {@link #strided(Kernel, SoftmaxOp, boolean, MemorySegment, MemorySegment, MemorySegment, long, long, long)} on elements of {@code dtype}. */
    static int strided(Kernel kernel, SoftmaxOp op, DType dtype, boolean backward, MemorySegment in,
            MemorySegment saved, MemorySegment out, long outer, long dim, long inner) {
        long slab = dim * inner;
        return strided(kernel, op, dtype, backward, in, slab, saved, slab, out, slab, outer, dim, inner);
    }

    /**
     * The strided entry point with a stride per tensor: slab {@code o} of each starts
     * {@code o * stride} elements after its base.
     */
    static int strided(Kernel kernel, SoftmaxOp op, DType dtype, boolean backward, MemorySegment in, long inStride,
            MemorySegment saved, long savedStride, MemorySegment out, long outStride, long outer, long dim,
            long inner) {
        int code = switch (dtype) {
            case FLOAT32 -> DTYPE_F32;
            case FLOAT64 -> DTYPE_F64;
            case BFLOAT16 -> DTYPE_BF16;
            case FLOAT16 -> DTYPE_F16;
            default -> throw new IllegalArgumentException("dtype must be a floating type, was " + dtype);
        };
        MemorySegment savedOrNull = saved == null ? MemorySegment.NULL : saved;
        boolean critical = critical(outer * dim * inner, in, saved == null ? in : saved, out);
        int o = op.code();
        int direction = backward ? BACKWARD_DIRECTION : FORWARD_DIRECTION;
        MethodHandle handle = switch (kernel) {
            case DISPATCHED -> critical ? STRIDED_CRITICAL : STRIDED;
            case SCALAR -> critical ? STRIDED_SCALAR_CRITICAL : STRIDED_SCALAR;
            case AVX2 -> critical ? STRIDED_AVX2_CRITICAL : STRIDED_AVX2;
            case AVX512 -> critical ? STRIDED_AVX512_CRITICAL : STRIDED_AVX512;
        };
        try {
            return (int) handle.invokeExact(o, code, direction, outer, dim, inner, in, inStride, savedOrNull,
                    savedStride, out, outStride);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Calls the float32 LogSumExp forward on contiguous {@code [outer, dim, inner]}; returns its status code. */
    static int logSumExpForward(Kernel kernel, MemorySegment x, MemorySegment out, long outer, long dim, long inner) {
        return logSumExpForward(kernel, DType.FLOAT32, x, out, outer, dim, inner);
    }

    /** Calls the float32 LogSumExp backward; returns its status code. */
    static int logSumExpBackward(Kernel kernel, MemorySegment gy, MemorySegment x, MemorySegment gx, long outer,
            long dim, long inner) {
        return logSumExpBackward(kernel, DType.FLOAT32, gy, x, gx, outer, dim, inner);
    }

    /** Calls the LogSumExp forward of {@code dtype}, a floating type; returns its status code. */
    static int logSumExpForward(Kernel kernel, DType dtype, MemorySegment x, MemorySegment out, long outer, long dim,
            long inner) {
        boolean critical = critical(outer * dim * inner, x, out, out);
        MethodHandle handle = (critical ? LSE_FORWARD_CRITICAL : LSE_FORWARD)[lseIndex(dtype)][kernel.ordinal()];
        try {
            return (int) handle.invokeExact(x, out, outer, dim, inner);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Calls the LogSumExp backward of {@code dtype}; returns its status code. */
    static int logSumExpBackward(Kernel kernel, DType dtype, MemorySegment gy, MemorySegment x, MemorySegment gx,
            long outer, long dim, long inner) {
        boolean critical = critical(outer * dim * inner, gy, x, gx);
        MethodHandle handle = (critical ? LSE_BACKWARD_CRITICAL : LSE_BACKWARD)[lseIndex(dtype)][kernel.ordinal()];
        try {
            return (int) handle.invokeExact(gy, x, gx, outer, dim, inner);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code s4j_isa()}: the dispatched variant's name. */
    static String isa() {
        try {
            return string((MemorySegment) ISA.invokeExact());
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code s4j_isa_status()}: 0, or the error code of a variant forced that cannot run here. */
    static int isaStatus() {
        try {
            return (int) ISA_STATUS.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code s4j_cpu_features()}: the usable CPU features, space-separated. */
    static String cpuFeatures() {
        try {
            return string((MemorySegment) CPU_FEATURES.invokeExact());
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code s4j_isa_supported(isa)}: whether this CPU and OS can run the named variant. */
    static boolean isaSupported(String isa) {
        try (Arena arena = Arena.ofConfined()) {
            return (int) ISA_SUPPORTED.invokeExact(arena.allocateFrom(isa)) != 0;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code s4j_strerror(code)}: a short description of a status code. */
    static String strerror(int code) {
        try {
            return string((MemorySegment) STRERROR.invokeExact(code));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static boolean critical(long elements, MemorySegment a, MemorySegment b, MemorySegment c) {
        // Heap memory can only be passed to a critical call; that is also what makes it copy-free.
        return elements <= CRITICAL_MAX_ELEMENTS || !a.isNative() || !b.isNative() || !c.isNative();
    }

    private static MethodHandle compute(String name, FunctionDescriptor type, boolean critical) {
        return critical
                ? LINKER.downcallHandle(symbol(name), type, Linker.Option.critical(true))
                : LINKER.downcallHandle(symbol(name), type);
    }

    /** One handle per {@link Kernel}, by ordinal: the dispatched symbol, then the named variants. */
    private static MethodHandle[] perKernel(String name, FunctionDescriptor type, boolean critical) {
        MethodHandle[] handles = new MethodHandle[Kernel.values().length];
        for (Kernel kernel : Kernel.values()) {
            String symbol = kernel == Kernel.DISPATCHED ? name : name + "_" + kernel.name().toLowerCase(Locale.ROOT);
            handles[kernel.ordinal()] = compute(symbol, type, critical);
        }
        return handles;
    }

    /** {@link #perKernel} for each of {@link #LSE_SUFFIXES}: {@code prefix + suffix}. */
    private static MethodHandle[][] perType(String prefix, FunctionDescriptor type, boolean critical) {
        MethodHandle[][] handles = new MethodHandle[LSE_SUFFIXES.length][];
        for (int i = 0; i < LSE_SUFFIXES.length; i++) {
            handles[i] = perKernel(prefix + LSE_SUFFIXES[i], type, critical);
        }
        return handles;
    }

    private static int lseIndex(DType dtype) {
        return switch (dtype) {
            case FLOAT32 -> 0;
            case FLOAT64 -> 1;
            case BFLOAT16 -> 2;
            case FLOAT16 -> 3;
            default -> throw new IllegalArgumentException("dtype must be a floating type, was " + dtype);
        };
    }

    private static MethodHandle info(String name, FunctionDescriptor type) {
        return LINKER.downcallHandle(symbol(name), type);
    }

    private static MemorySegment symbol(String name) {
        return LIBRARY.find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("the native library lacks the symbol " + name));
    }

    /** The C strings returned by the library are static and NUL-terminated. */
    private static String string(MemorySegment address) {
        return address.reinterpret(Long.MAX_VALUE).getString(0);
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException e) {
            return e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException("unexpected checked exception from a native call", t);
    }
}
