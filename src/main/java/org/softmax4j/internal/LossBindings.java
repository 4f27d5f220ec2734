package org.softmax4j.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The downcall handles to the loss functions of {@code softmax4j.h}. A sibling of
 * {@link NativeBindings} rather than part of it: the losses have their own long argument lists
 * and one more variant axis, and {@code NativeBindings} stays the small class of the log-softmax
 * hot path. The library is the one {@code NativeBindings} loaded.
 *
 * <p>Every handle is critical ({@link Linker.Option#critical} with heap access): the ops keep the
 * small per-position statistics and the totals in Java arrays, and class-index targets often
 * wrap a Java {@code int[]} or {@code long[]}, so the arguments are regularly heap memory. The
 * garbage collector waits for the call, which is one pass over the logits.
 */
@SuppressWarnings("restricted")
final class LossBindings {
    private static final Linker LINKER = Linker.nativeLinker();

    private static final FunctionDescriptor CE_FORWARD = FunctionDescriptor.of(JAVA_INT,
            ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_FLOAT,
            ADDRESS, ADDRESS, ADDRESS);
    private static final FunctionDescriptor CE_BACKWARD = FunctionDescriptor.of(JAVA_INT,
            ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_FLOAT,
            ADDRESS, JAVA_FLOAT, ADDRESS);
    private static final FunctionDescriptor NLL_FORWARD = FunctionDescriptor.of(JAVA_INT,
            ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS);
    private static final FunctionDescriptor NLL_BACKWARD = FunctionDescriptor.of(JAVA_INT,
            JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, JAVA_FLOAT, ADDRESS);

    private static final MethodHandle CE_FORWARD_DISPATCHED = handle("s4j_cross_entropy_forward_f32", CE_FORWARD);
    private static final MethodHandle CE_FORWARD_SCALAR = handle("s4j_cross_entropy_forward_f32_scalar", CE_FORWARD);
    private static final MethodHandle CE_FORWARD_AVX2 = handle("s4j_cross_entropy_forward_f32_avx2", CE_FORWARD);
    private static final MethodHandle CE_FORWARD_AVX512 = handle("s4j_cross_entropy_forward_f32_avx512", CE_FORWARD);
    private static final MethodHandle CE_BACKWARD_DISPATCHED = handle("s4j_cross_entropy_backward_f32", CE_BACKWARD);
    private static final MethodHandle CE_BACKWARD_SCALAR = handle("s4j_cross_entropy_backward_f32_scalar", CE_BACKWARD);
    private static final MethodHandle CE_BACKWARD_AVX2 = handle("s4j_cross_entropy_backward_f32_avx2", CE_BACKWARD);
    private static final MethodHandle CE_BACKWARD_AVX512 = handle("s4j_cross_entropy_backward_f32_avx512", CE_BACKWARD);
    private static final MethodHandle NLL_FORWARD_HANDLE = handle("s4j_nll_loss_forward_f32", NLL_FORWARD);
    private static final MethodHandle NLL_BACKWARD_HANDLE = handle("s4j_nll_loss_backward_f32", NLL_BACKWARD);

    private LossBindings() {}

    /** Does nothing; calling it links every loss symbol, or throws. */
    static void link() {}

    static MethodHandle crossEntropyForward(NativeBindings.Kernel kernel) {
        return switch (kernel) {
            case DISPATCHED -> CE_FORWARD_DISPATCHED;
            case SCALAR -> CE_FORWARD_SCALAR;
            case AVX2 -> CE_FORWARD_AVX2;
            case AVX512 -> CE_FORWARD_AVX512;
        };
    }

    static MethodHandle crossEntropyBackward(NativeBindings.Kernel kernel) {
        return switch (kernel) {
            case DISPATCHED -> CE_BACKWARD_DISPATCHED;
            case SCALAR -> CE_BACKWARD_SCALAR;
            case AVX2 -> CE_BACKWARD_AVX2;
            case AVX512 -> CE_BACKWARD_AVX512;
        };
    }

    static int crossEntropyForward(NativeBindings.Kernel kernel, MemorySegment logits, long n, long classes,
            long inner, MemorySegment target, int kind, MemorySegment weight, long ignoreIndex, float smoothing,
            MemorySegment loss, MemorySegment stats, MemorySegment totals) {
        try {
            return (int) crossEntropyForward(kernel).invokeExact(logits, n, classes, inner, target, kind, weight,
                    ignoreIndex, smoothing, loss, stats, totals);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int crossEntropyBackward(NativeBindings.Kernel kernel, MemorySegment logits, MemorySegment stats,
            long n, long classes, long inner, MemorySegment target, int kind, MemorySegment weight,
            long ignoreIndex, float smoothing, MemorySegment gradLoss, float gradScale, MemorySegment gradLogits) {
        try {
            return (int) crossEntropyBackward(kernel).invokeExact(logits, stats, n, classes, inner, target, kind,
                    weight, ignoreIndex, smoothing, gradLoss, gradScale, gradLogits);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int nllForward(MemorySegment logProbs, long n, long classes, long inner, MemorySegment target, int kind,
            MemorySegment weight, long ignoreIndex, MemorySegment loss, MemorySegment totals) {
        try {
            return (int) NLL_FORWARD_HANDLE.invokeExact(logProbs, n, classes, inner, target, kind, weight,
                    ignoreIndex, loss, totals);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int nllBackward(long n, long classes, long inner, MemorySegment target, int kind, MemorySegment weight,
            long ignoreIndex, MemorySegment gradLoss, float gradScale, MemorySegment gradLogProbs) {
        try {
            return (int) NLL_BACKWARD_HANDLE.invokeExact(n, classes, inner, target, kind, weight, ignoreIndex,
                    gradLoss, gradScale, gradLogProbs);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static MethodHandle handle(String name, FunctionDescriptor type) {
        MemorySegment symbol = NativeBindings.LIBRARY.find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("the native library lacks the symbol " + name));
        return LINKER.downcallHandle(symbol, type, Linker.Option.critical(true));
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
