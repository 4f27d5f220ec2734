package org.softmax4j;

import java.util.Objects;

/**
 * The options of {@link CrossEntropy} and {@link NllLoss}, PyTorch's keyword arguments: an
 * immutable record with PyTorch's defaults ({@link #defaults()}) and a copy-with method per
 * option.
 *
 * <pre>{@code
 * LossOptions options = LossOptions.defaults().withLabelSmoothing(0.1f).withReduction(Reduction.SUM);
 * }</pre>
 *
 * @param reduction how the per-position losses are reduced; {@link Reduction#MEAN} by default
 * @param weight a float32 {@code [classes]} tensor of finite weights {@code >= 0}, or null for
 *     all ones (checked when the loss runs, where the number of classes is known)
 * @param ignoreIndex a class index whose positions count for nothing; {@code -100} by default;
 *     class-index targets only
 * @param labelSmoothing in {@code [0, 1]}, 0 by default; cross-entropy only
 */
public record LossOptions(Reduction reduction, Tensor weight, long ignoreIndex, float labelSmoothing) {
    /** PyTorch's default {@code ignore_index}. */
    public static final long DEFAULT_IGNORE_INDEX = -100;

    private static final LossOptions DEFAULTS = new LossOptions(Reduction.MEAN, null, DEFAULT_IGNORE_INDEX, 0f);

    /**
     * @throws NullPointerException if {@code reduction} is null
     * @throws IllegalArgumentException if {@code labelSmoothing} is NaN or outside {@code [0, 1]}
     */
    public LossOptions {
        Objects.requireNonNull(reduction, "reduction");
        if (!(labelSmoothing >= 0f && labelSmoothing <= 1f)) {
            throw new IllegalArgumentException("labelSmoothing must be in [0, 1], was " + labelSmoothing);
        }
    }

    /** Mean reduction, no weight, ignore index -100, no label smoothing. */
    public static LossOptions defaults() {
        return DEFAULTS;
    }

    public LossOptions withReduction(Reduction reduction) {
        return new LossOptions(reduction, weight, ignoreIndex, labelSmoothing);
    }

    /** @param weight a float32 {@code [classes]} tensor, or null for all ones */
    public LossOptions withWeight(Tensor weight) {
        return new LossOptions(reduction, weight, ignoreIndex, labelSmoothing);
    }

    public LossOptions withIgnoreIndex(long ignoreIndex) {
        return new LossOptions(reduction, weight, ignoreIndex, labelSmoothing);
    }

    /** @throws IllegalArgumentException if {@code labelSmoothing} is NaN or outside {@code [0, 1]} */
    public LossOptions withLabelSmoothing(float labelSmoothing) {
        return new LossOptions(reduction, weight, ignoreIndex, labelSmoothing);
    }
}
