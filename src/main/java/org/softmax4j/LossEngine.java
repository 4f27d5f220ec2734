package org.softmax4j;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;
import org.softmax4j.internal.Backends;
import org.softmax4j.internal.Checks;
import org.softmax4j.internal.Disjoint;
import org.softmax4j.internal.Losses;

/**
 * What {@link CrossEntropy} and {@link NllLoss} share: the checks of every argument (all of them
 * before any memory is written), the geometry of {@code [N, C, d1..dk]} inputs, the reduction,
 * and the state saved for backward. {@code crossEntropy} tells which kernels run and whether
 * probability targets and label smoothing are allowed.
 */
final class LossEngine {
    private final boolean crossEntropy;
    private final String inputName;
    private final LossOptions options;
    private final Losses losses; // null: the backend chosen by Backends, looked up per call

    /** What forward leaves for backward. */
    private record Saved(Tensor input, Tensor target, int kind, long n, long classes, long inner,
            Shape positions, float[] stats, double denominator) {}

    private Saved saved;

    LossEngine(boolean crossEntropy, LossOptions options, Losses losses) {
        this.crossEntropy = crossEntropy;
        this.inputName = crossEntropy ? "logits" : "logProbs";
        this.options = Objects.requireNonNull(options, "options");
        this.losses = losses;
        if (!crossEntropy && options.labelSmoothing() != 0f) {
            throw new IllegalArgumentException(
                    "labelSmoothing must be 0 for NllLoss (it is a cross-entropy option), was " + options.labelSmoothing());
        }
    }

    LossOptions options() {
        return options;
    }

    /** The loss shape: the positions for {@link Reduction#NONE}, else {@code [1]}. */
    private Shape lossShape(Shape positions) {
        return options.reduction() == Reduction.NONE ? positions : Shape.of(1);
    }

    Tensor forward(Tensor input, Tensor target, Arena arena) {
        Objects.requireNonNull(input, inputName);
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(arena, "arena");
        Shape positions = positionsOf(input);
        Checks.requireAlive(inputName, input.segment());
        return forward(input, target, Tensor.allocate(arena, lossShape(positions)));
    }

    Tensor forward(Tensor input, Tensor target, Tensor out) {
        Objects.requireNonNull(input, inputName);
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(out, "out");
        Shape positions = positionsOf(input);
        long n = input.shape().dim(0);
        long classes = input.shape().dim(1);
        long inner = innerOf(input.shape());
        int kind = targetKind(target, input.shape(), positions);
        TensorChecks.requireFloat32("out", out);
        TensorChecks.requireShape("out", out, lossShape(positions));
        Checks.requireAlive(inputName, input.segment());
        Checks.requireAlive("target", target.segment());
        Checks.requireAlive("out", out.segment());
        Checks.requireOutput("out", out.segment(), out.segment().byteSize());
        MemorySegment weight = weight(classes);
        Disjoint.require("out", out.segment(), inputName, input.segment());
        Disjoint.require("out", out.segment(), "target", target.segment());
        if (!weight.equals(MemorySegment.NULL)) {
            Disjoint.require("out", out.segment(), "weight", weight);
        }
        if (positions.numel() > 0 && classes == 0) {
            throw new IllegalArgumentException(inputName + " must have at least one class (dim 1), has shape "
                    + input.shape());
        }
        requireTargetsInRange(target, kind, classes, inner);

        long count = positions.numel();
        if (crossEntropy && count > (Integer.MAX_VALUE - 8) / 2) {
            throw new IllegalArgumentException(inputName + " has " + count
                    + " positions; at most " + (Integer.MAX_VALUE - 8) / 2 + " are supported (the saved statistics are a float[])");
        }
        float[] stats = crossEntropy ? new float[(int) (2 * count)] : null;
        boolean none = options.reduction() == Reduction.NONE;
        MemorySegment lossOut = none ? out.segment() : MemorySegment.NULL;
        double[] totals = new double[2];
        Losses kernels = kernels();
        if (crossEntropy) {
            kernels.crossEntropyForward(input.segment(), n, classes, inner, target.segment(), kind, weight,
                    options.ignoreIndex(), options.labelSmoothing(), lossOut, MemorySegment.ofArray(stats), totals);
        } else {
            kernels.nllForward(input.segment(), n, classes, inner, target.segment(), kind, weight,
                    options.ignoreIndex(), lossOut, totals);
        }
        if (!none) {
            double value = options.reduction() == Reduction.SUM ? totals[0] : totals[0] / totals[1];
            out.segment().set(JAVA_FLOAT, 0, (float) value);
        }
        saved = new Saved(input, target, kind, n, classes, inner, positions, stats, totals[1]);
        return out;
    }

    Tensor backward(float gradLoss, Arena arena) {
        Objects.requireNonNull(arena, "arena");
        Saved s = savedOrThrow();
        requireScalarReduction();
        Checks.requireAlive("saved " + inputName, s.input.segment());
        return backward(null, gradLoss, Tensor.allocate(arena, s.input.shape()));
    }

    Tensor backward(float gradLoss, Tensor gradInput) {
        Objects.requireNonNull(gradInput, gradName());
        savedOrThrow();
        requireScalarReduction();
        return backward(null, gradLoss, gradInput);
    }

    Tensor backward(Tensor gradLoss, Arena arena) {
        Objects.requireNonNull(gradLoss, "gradLoss");
        Objects.requireNonNull(arena, "arena");
        Saved s = savedOrThrow();
        requireGradLossShape(gradLoss, s);
        Checks.requireAlive("saved " + inputName, s.input.segment());
        return backward(gradLoss, 0f, Tensor.allocate(arena, s.input.shape()));
    }

    Tensor backward(Tensor gradLoss, Tensor gradInput) {
        Objects.requireNonNull(gradLoss, "gradLoss");
        Objects.requireNonNull(gradInput, gradName());
        return backward(gradLoss, 0f, gradInput);
    }

    /** gradLoss null: the scalar {@code scalarGrad} for a sum or a mean. */
    private Tensor backward(Tensor gradLoss, float scalarGrad, Tensor gradInput) {
        Saved s = savedOrThrow();
        String gradName = gradName();
        if (gradLoss != null) {
            requireGradLossShape(gradLoss, s);
            Checks.requireAlive("gradLoss", gradLoss.segment());
        }
        TensorChecks.requireFloat32(gradName, gradInput);
        TensorChecks.requireShape(gradName, gradInput, s.input.shape());
        Checks.requireAlive("saved " + inputName, s.input.segment());
        Checks.requireAlive("saved target", s.target.segment());
        Checks.requireAlive(gradName, gradInput.segment());
        Checks.requireOutput(gradName, gradInput.segment(), gradInput.segment().byteSize());
        MemorySegment weight = weight(s.classes);
        Disjoint.require(gradName, gradInput.segment(), "the saved " + inputName, s.input.segment());
        Disjoint.require(gradName, gradInput.segment(), "the saved target", s.target.segment());
        if (!weight.equals(MemorySegment.NULL)) {
            Disjoint.require(gradName, gradInput.segment(), "weight", weight);
        }
        if (gradLoss != null) {
            Disjoint.require(gradName, gradInput.segment(), "gradLoss", gradLoss.segment());
        }
        // The target may have changed since forward: the kernels must never see a bad index.
        requireTargetsInRange(s.target, s.kind, s.classes, s.inner);

        MemorySegment perPosition = MemorySegment.NULL;
        float scale;
        if (options.reduction() == Reduction.NONE) {
            perPosition = gradLoss.segment();
            scale = 1f;
        } else {
            float g = gradLoss != null ? gradLoss.segment().get(JAVA_FLOAT, 0) : scalarGrad;
            scale = options.reduction() == Reduction.SUM ? g : (float) (g / s.denominator);
        }
        Losses kernels = kernels();
        if (crossEntropy) {
            kernels.crossEntropyBackward(s.input.segment(), MemorySegment.ofArray(s.stats), s.n, s.classes, s.inner,
                    s.target.segment(), s.kind, weight, options.ignoreIndex(), options.labelSmoothing(), perPosition,
                    scale, gradInput.segment());
        } else {
            kernels.nllBackward(s.n, s.classes, s.inner, s.target.segment(), s.kind, weight, options.ignoreIndex(),
                    perPosition, scale, gradInput.segment());
        }
        return gradInput;
    }

    private String gradName() {
        return crossEntropy ? "gradLogits" : "gradLogProbs";
    }

    private Losses kernels() {
        return losses != null ? losses : Backends.get().losses();
    }

    private Saved savedOrThrow() {
        if (saved == null) {
            throw new IllegalStateException("backward called before forward");
        }
        return saved;
    }

    private void requireScalarReduction() {
        if (options.reduction() == Reduction.NONE) {
            throw new IllegalArgumentException("gradLoss must be a tensor of the loss shape " + saved.positions
                    + " for reduction NONE, was a scalar");
        }
    }

    private void requireGradLossShape(Tensor gradLoss, Saved s) {
        TensorChecks.requireFloat32("gradLoss", gradLoss);
        TensorChecks.requireShape("gradLoss", gradLoss, lossShape(s.positions));
    }

    /** {@code [N, d1..dk]} of an {@code [N, C, d1..dk]} input. */
    private Shape positionsOf(Tensor input) {
        TensorChecks.requireFloat32(inputName, input);
        long[] dims = input.shape().dims();
        if (dims.length < 2) {
            throw new IllegalArgumentException(inputName + " must have shape [N, C] or [N, C, d1, ..., dk], was "
                    + input.shape() + " (for a single position use [1, C])");
        }
        long[] positions = new long[dims.length - 1];
        positions[0] = dims[0];
        System.arraycopy(dims, 2, positions, 1, dims.length - 2);
        return new Shape(positions);
    }

    private static long innerOf(Shape shape) {
        long inner = 1;
        for (int d = 2; d < shape.rank(); d++) {
            inner = Math.multiplyExact(inner, shape.dim(d));
        }
        return inner;
    }

    private int targetKind(Tensor target, Shape inputShape, Shape positions) {
        DType dtype = target.dtype();
        if (dtype.isInteger() && target.shape().equals(positions)) {
            return dtype == DType.INT32 ? Losses.TARGET_INT32 : Losses.TARGET_INT64;
        }
        if (crossEntropy && dtype == DType.FLOAT32 && target.shape().equals(inputShape)) {
            return Losses.TARGET_PROB_F32;
        }
        String expected = "int32 or int64 class indices of shape " + positions
                + (crossEntropy ? ", or float32 probabilities of shape " + inputShape : "");
        throw new IllegalArgumentException("target must be " + expected + ", was " + dtype + " " + target.shape());
    }

    /** The weight's memory after its checks, or NULL when there is none. */
    private MemorySegment weight(long classes) {
        Tensor weight = options.weight();
        if (weight == null) {
            return MemorySegment.NULL;
        }
        TensorChecks.requireFloat32("weight", weight);
        TensorChecks.requireShape("weight", weight, Shape.of(classes));
        Checks.requireAlive("weight", weight.segment());
        MemorySegment segment = weight.segment();
        for (long c = 0; c < classes; c++) {
            float w = segment.getAtIndex(JAVA_FLOAT_UNALIGNED, c);
            if (!(w >= 0f && w < Float.POSITIVE_INFINITY)) {
                throw new IllegalArgumentException("weight[" + c + "] must be finite and >= 0, was " + w);
            }
        }
        return segment;
    }

    /** Every class index is ignoreIndex or in [0, classes), before any downcall. */
    private void requireTargetsInRange(Tensor target, int kind, long classes, long inner) {
        if (kind == Losses.TARGET_PROB_F32) {
            return;
        }
        MemorySegment t = target.segment();
        long count = target.shape().numel();
        long ignore = options.ignoreIndex();
        for (long p = 0; p < count; p++) {
            long v = kind == Losses.TARGET_INT32
                    ? t.getAtIndex(JAVA_INT_UNALIGNED, p)
                    : t.getAtIndex(JAVA_LONG_UNALIGNED, p);
            if (v != ignore && (v < 0 || v >= classes)) {
                throw new IndexOutOfBoundsException("target" + Arrays.toString(coordinates(p, target.shape()))
                        + " = " + v + " must be in [0, " + classes + ") or be ignoreIndex " + ignore);
            }
        }
    }

    private static long[] coordinates(long linear, Shape shape) {
        long[] index = new long[shape.rank()];
        for (int d = shape.rank() - 1; d >= 0; d--) {
            index[d] = linear % shape.dim(d);
            linear /= shape.dim(d);
        }
        return index;
    }
}
