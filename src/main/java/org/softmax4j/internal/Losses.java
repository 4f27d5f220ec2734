package org.softmax4j.internal;

import java.lang.foreign.MemorySegment;

/**
 * One implementation of the cross-entropy and NLL kernels, with the semantics and argument
 * meanings of the loss functions of {@code softmax4j.h} (a {@code NULL} pointer there is
 * {@link MemorySegment#NULL} here). The arguments have already been checked by the ops: sizes,
 * element types, liveness, that every class index is {@code ignoreIndex} or in range, and that
 * outputs overlap nothing. Implementations are stateless and thread-safe.
 */
public interface Losses {
    /** {@code target} holds int32 class indices. */
    int TARGET_INT32 = 1;
    /** {@code target} holds int64 class indices. */
    int TARGET_INT64 = 2;
    /** {@code target} holds float32 class probabilities, laid out like the logits. */
    int TARGET_PROB_F32 = 3;

    /**
     * Per position: the loss into {@code loss} (or not, when NULL), the max and log-sum into
     * {@code stats}; the sum of the losses and the weight of the counted positions into
     * {@code totals[0]} and {@code totals[1]}.
     */
    void crossEntropyForward(MemorySegment logits, long n, long classes, long inner, MemorySegment target,
            int targetKind, MemorySegment weight, long ignoreIndex, float labelSmoothing, MemorySegment loss,
            MemorySegment stats, double[] totals);

    /** {@code gradLogits = scale_p * (softmax * sum(q) - q)}, 0 at ignored positions. */
    void crossEntropyBackward(MemorySegment logits, MemorySegment stats, long n, long classes, long inner,
            MemorySegment target, int targetKind, MemorySegment weight, long ignoreIndex, float labelSmoothing,
            MemorySegment gradLoss, float gradScale, MemorySegment gradLogits);

    /** {@code loss_p = -w[t] * logProbs[t]}, 0 where ignored; totals as for cross-entropy. */
    void nllForward(MemorySegment logProbs, long n, long classes, long inner, MemorySegment target,
            int targetKind, MemorySegment weight, long ignoreIndex, MemorySegment loss, double[] totals);

    /** {@code gradLogProbs = -scale_p * w[t]} at the target class, 0 elsewhere. */
    void nllBackward(long n, long classes, long inner, MemorySegment target, int targetKind,
            MemorySegment weight, long ignoreIndex, MemorySegment gradLoss, float gradScale,
            MemorySegment gradLogProbs);

    /** {@code "native"} or {@code "java"}. */
    String name();
}
