package org.softmax4j.internal;

import java.lang.foreign.MemorySegment;
import org.softmax4j.internal.NativeBindings.Kernel;

/**
 * The C losses through {@link LossBindings}: the dispatched cross-entropy kernels or one variant
 * pinned by name (NLL has a single portable implementation). The totals travel in a heap
 * {@code double[2]}, which the critical downcalls accept as is.
 */
final class NativeLosses implements Losses {
    private static final int S4J_OK = 0;

    private final Kernel kernel;

    NativeLosses(Kernel kernel) {
        this.kernel = kernel;
    }

    @Override
    public void crossEntropyForward(MemorySegment logits, long n, long classes, long inner, MemorySegment target,
            int targetKind, MemorySegment weight, long ignoreIndex, float labelSmoothing, MemorySegment loss,
            MemorySegment stats, double[] totals) {
        check(LossBindings.crossEntropyForward(kernel, logits, n, classes, inner, target, targetKind, weight,
                ignoreIndex, labelSmoothing, loss, stats, MemorySegment.ofArray(totals)));
    }

    @Override
    public void crossEntropyBackward(MemorySegment logits, MemorySegment stats, long n, long classes, long inner,
            MemorySegment target, int targetKind, MemorySegment weight, long ignoreIndex, float labelSmoothing,
            MemorySegment gradLoss, float gradScale, MemorySegment gradLogits) {
        check(LossBindings.crossEntropyBackward(kernel, logits, stats, n, classes, inner, target, targetKind, weight,
                ignoreIndex, labelSmoothing, gradLoss, gradScale, gradLogits));
    }

    @Override
    public void nllForward(MemorySegment logProbs, long n, long classes, long inner, MemorySegment target,
            int targetKind, MemorySegment weight, long ignoreIndex, MemorySegment loss, double[] totals) {
        check(LossBindings.nllForward(logProbs, n, classes, inner, target, targetKind, weight, ignoreIndex, loss,
                MemorySegment.ofArray(totals)));
    }

    @Override
    public void nllBackward(long n, long classes, long inner, MemorySegment target, int targetKind,
            MemorySegment weight, long ignoreIndex, MemorySegment gradLoss, float gradScale,
            MemorySegment gradLogProbs) {
        check(LossBindings.nllBackward(n, classes, inner, target, targetKind, weight, ignoreIndex, gradLoss,
                gradScale, gradLogProbs));
    }

    @Override
    public String name() {
        return "native";
    }

    private static void check(int status) {
        // The ops check everything first, so a failure here is a bug on one side or the other.
        if (status != S4J_OK) {
            throw new IllegalStateException(
                    "native loss kernel failed with " + status + ": " + NativeBindings.strerror(status));
        }
    }
}
