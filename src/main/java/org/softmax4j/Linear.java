package org.softmax4j;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;
import java.util.random.RandomGenerator;
import org.softmax4j.internal.Checks;
import org.softmax4j.internal.Disjoint;
import org.softmax4j.internal.OpenBlasBindings;

/**
 * A fully connected layer, {@code y = x · Wᵀ + b}, as an autograd-style operation whose matrix
 * products run in OpenBLAS ({@code cblas_sgemm}).
 *
 * <p>The layer holds four tensors: the weight {@code W} of shape {@code [out, in]}, the bias
 * {@code b} of shape {@code [out]} (optional), and their gradients {@code dW} and {@code db} of
 * the same shapes. They are allocated in an arena of the caller's, or wrap tensors the caller
 * gives; either way the caller owns the memory and may update {@code W} and {@code b} in place
 * (that is what an optimizer step does).
 *
 * <ul>
 *   <li>{@link #forward} takes {@code x} of shape {@code [..., in]}, returns {@code y} of shape
 *       {@code [..., out]} and saves {@code x} (the tensor itself, not a copy) for backward;
 *   <li>{@link #backward} takes {@code dy} of the shape of {@code y}, returns
 *       {@code dx = dy · W} and <em>adds</em> {@code dyᵀ · x} to {@code dW} and the column sums of
 *       {@code dy} to {@code db}, as PyTorch accumulates {@code .grad}; {@link #zeroGrad} clears
 *       them. {@link #backwardParameters} does the same without {@code dx}, for a first layer.
 * </ul>
 *
 * <pre>{@code
 * try (Arena arena = Arena.ofConfined()) {
 *     Linear layer = new Linear(arena, 64, 10, new SplittableRandom(42));
 *     Tensor logits = layer.forward(x, arena);            // [batch, 10]
 *     Tensor dx = layer.backward(dLogits, arena);         // [batch, 64]; dW and db accumulated
 * }
 * }</pre>
 *
 * <p>Backward uses {@code W} as it is when backward runs: update the weights after it. Every call
 * checks its arguments before anything is written, and a rejected call leaves every output and
 * gradient untouched: {@link NullPointerException} for a null argument,
 * {@link IllegalArgumentException} for a wrong shape, a size beyond OpenBLAS's 32-bit
 * {@code int}, a read-only output or an output that overlaps anything the call reads or writes,
 * {@link IllegalStateException} for a closed arena (naming the argument), for backward before
 * forward, and when OpenBLAS cannot be loaded.
 *
 * <p>OpenBLAS comes from the {@code org.bytedeco:openblas} jar and runs on
 * {@code -Dsoftmax4j.openblas.threads} threads, 1 by default; see the README. An instance is not
 * thread-safe: it holds the input of the last forward.
 */
public final class Linear {
    private final long inFeatures;
    private final long outFeatures;
    private final Tensor weight;
    private final Tensor bias;
    private final Tensor gradWeight;
    private final Tensor gradBias;
    private Tensor saved;

    /**
     * A layer with weight, bias and zeroed gradients allocated in {@code arena}, initialised as
     * PyTorch's {@code nn.Linear} does: {@code W} and {@code b} uniform in
     * {@code [-1/sqrt(in), 1/sqrt(in))}.
     *
     * @throws IllegalArgumentException if a size is negative or larger than
     *     {@link Integer#MAX_VALUE}
     * @throws IllegalStateException if {@code arena} is closed, or OpenBLAS cannot be loaded
     */
    public Linear(Arena arena, long inFeatures, long outFeatures, RandomGenerator random) {
        Objects.requireNonNull(arena, "arena");
        Objects.requireNonNull(random, "random");
        requireBlasSize("inFeatures", inFeatures);
        requireBlasSize("outFeatures", outFeatures);
        OpenBlasBindings.requireLoaded();
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        this.weight = Tensor.allocate(arena, outFeatures, inFeatures);
        this.bias = Tensor.allocate(arena, outFeatures);
        this.gradWeight = Tensor.allocate(arena, outFeatures, inFeatures);
        this.gradBias = Tensor.allocate(arena, outFeatures);
        float bound = inFeatures == 0 ? 0f : (float) (1 / Math.sqrt(inFeatures));
        fillUniform(weight.segment(), bound, random);
        fillUniform(bias.segment(), bound, random);
    }

    /**
     * A layer over the caller's tensors, used as they are (not copied, not initialised).
     *
     * @param weight {@code W}, of shape {@code [out, in]}
     * @param bias {@code b}, of shape {@code [out]}, or null for a layer without bias
     * @param gradWeight where {@code dW} accumulates, of the shape of {@code weight}
     * @param gradBias where {@code db} accumulates, of the shape of {@code bias}; null exactly when
     *     {@code bias} is null
     * @throws IllegalArgumentException if a shape is wrong, a size is larger than
     *     {@link Integer#MAX_VALUE}, a gradient is read-only, or a gradient overlaps another of
     *     the four tensors
     * @throws IllegalStateException if an arena is closed, or OpenBLAS cannot be loaded
     */
    public Linear(Tensor weight, Tensor bias, Tensor gradWeight, Tensor gradBias) {
        Objects.requireNonNull(weight, "weight");
        Objects.requireNonNull(gradWeight, "gradWeight");
        if ((bias == null) != (gradBias == null)) {
            throw new IllegalArgumentException("bias and gradBias must be both given or both null, was "
                    + (bias == null ? "bias null" : "gradBias null"));
        }
        if (weight.shape().rank() != 2) {
            throw new IllegalArgumentException("weight must have shape [out, in], was " + weight.shape());
        }
        long out = weight.shape().dim(0);
        long in = weight.shape().dim(1);
        requireBlasSize("weight.shape()[1] (in)", in);
        requireBlasSize("weight.shape()[0] (out)", out);
        requireShape("gradWeight", gradWeight, weight.shape());
        requireUsable("weight", weight, false);
        requireUsable("gradWeight", gradWeight, true);
        Disjoint.require("gradWeight", gradWeight.segment(), "weight", weight.segment());
        if (bias != null) {
            requireShape("bias", bias, Shape.of(out));
            requireShape("gradBias", gradBias, Shape.of(out));
            requireUsable("bias", bias, false);
            requireUsable("gradBias", gradBias, true);
            Disjoint.require("gradWeight", gradWeight.segment(), "bias", bias.segment());
            Disjoint.require("gradWeight", gradWeight.segment(), "gradBias", gradBias.segment());
            Disjoint.require("gradBias", gradBias.segment(), "weight", weight.segment());
            Disjoint.require("gradBias", gradBias.segment(), "bias", bias.segment());
        }
        OpenBlasBindings.requireLoaded();
        this.inFeatures = in;
        this.outFeatures = out;
        this.weight = weight;
        this.bias = bias;
        this.gradWeight = gradWeight;
        this.gradBias = gradBias;
    }

    public long inFeatures() {
        return inFeatures;
    }

    public long outFeatures() {
        return outFeatures;
    }

    /** {@code W}, of shape {@code [out, in]}. */
    public Tensor weight() {
        return weight;
    }

    /** {@code b}, of shape {@code [out]}, or null for a layer without bias. */
    public Tensor bias() {
        return bias;
    }

    /** The accumulated {@code dW}, of shape {@code [out, in]}. */
    public Tensor gradWeight() {
        return gradWeight;
    }

    /** The accumulated {@code db}, of shape {@code [out]}, or null for a layer without bias. */
    public Tensor gradBias() {
        return gradBias;
    }

    /**
     * Computes {@code x · Wᵀ + b} into a new tensor allocated in {@code arena}, and saves
     * {@code x} for backward.
     *
     * @return the output, of the shape of {@code x} with the last dimension {@code out}
     * @throws IllegalArgumentException if the last dimension of {@code x} is not {@code in}
     * @throws IllegalStateException if an arena is closed
     */
    public Tensor forward(Tensor x, Arena arena) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(arena, "arena");
        Shape outShape = outputShape(x);
        Checks.requireAlive("x", x.segment());
        return forward(x, Tensor.allocate(arena, outShape));
    }

    /**
     * Computes {@code x · Wᵀ + b} into {@code out}, and saves {@code x} for backward. {@code out}
     * must not overlap {@code x}, {@code W} or {@code b}.
     *
     * @return {@code out}
     * @throws IllegalArgumentException if the last dimension of {@code x} is not {@code in}, the
     *     shape of {@code out} is not that of {@code x} with the last dimension {@code out}, there
     *     are more than {@link Integer#MAX_VALUE} rows, or {@code out} is read-only or overlaps
     *     an input
     * @throws IllegalStateException if an arena is closed
     */
    public Tensor forward(Tensor x, Tensor out) {
        Objects.requireNonNull(x, "x");
        Objects.requireNonNull(out, "out");
        requireShape("out", out, outputShape(x));
        int rows = requireBlasSize("the number of rows of x", x.shape().rows());
        requireUsable("x", x, false);
        requireUsable("out", out, true);
        requireParameters();
        Disjoint.require("out", out.segment(), "x", x.segment());
        Disjoint.require("out", out.segment(), "weight", weight.segment());
        if (bias != null) {
            Disjoint.require("out", out.segment(), "bias", bias.segment());
        }

        MemorySegment y = out.segment();
        long rowBytes = outFeatures * Float.BYTES;
        for (long r = 0; r < rows; r++) {
            if (bias != null) {
                MemorySegment.copy(bias.segment(), 0, y, r * rowBytes, rowBytes);
            } else {
                y.asSlice(r * rowBytes, rowBytes).fill((byte) 0);
            }
        }
        if (rows > 0 && outFeatures > 0 && inFeatures > 0) {
            // y[rows, out] = x[rows, in] · W[out, in]ᵀ + y
            OpenBlasBindings.sgemm(false, true, rows, (int) outFeatures, (int) inFeatures,
                    1f, x.segment(), (int) inFeatures, weight.segment(), (int) inFeatures,
                    1f, y, (int) outFeatures);
        }
        saved = x;
        return out;
    }

    /**
     * Computes {@code dx = dy · W} into a new tensor allocated in {@code arena}, and adds the
     * parameter gradients to {@code dW} and {@code db}.
     *
     * @return {@code dx}, of the shape of the saved input
     * @throws IllegalStateException if forward was not called, or an arena is closed
     * @throws IllegalArgumentException if {@code gradOutput} does not have the shape of the output
     */
    public Tensor backward(Tensor gradOutput, Arena arena) {
        Objects.requireNonNull(gradOutput, "gradOutput");
        Objects.requireNonNull(arena, "arena");
        Tensor x = savedOrThrow();
        requireShape("gradOutput", gradOutput, outputShape(x));
        Checks.requireAlive("gradOutput", gradOutput.segment());
        Checks.requireAlive("saved input", x.segment());
        return backward(gradOutput, Tensor.allocate(arena, x.shape()));
    }

    /**
     * Computes {@code dx = dy · W} into {@code gradInput}, and adds {@code dyᵀ · x} to {@code dW}
     * and the column sums of {@code dy} to {@code db}. {@code gradInput} must not overlap
     * {@code gradOutput}, the saved input, the parameters or their gradients.
     *
     * @return {@code gradInput}
     * @throws IllegalStateException if forward was not called, or an arena is closed
     * @throws IllegalArgumentException if a shape is wrong, {@code gradInput} is read-only or
     *     overlaps another tensor of the call, or a gradient overlaps {@code gradOutput} or the
     *     saved input
     */
    public Tensor backward(Tensor gradOutput, Tensor gradInput) {
        Objects.requireNonNull(gradOutput, "gradOutput");
        Objects.requireNonNull(gradInput, "gradInput");
        Tensor x = savedOrThrow();
        requireShape("gradInput", gradInput, x.shape());
        checkBackward(gradOutput, x);
        requireUsable("gradInput", gradInput, true);
        MemorySegment dx = gradInput.segment();
        Disjoint.require("gradInput", dx, "gradOutput", gradOutput.segment());
        Disjoint.require("gradInput", dx, "the saved input", x.segment());
        Disjoint.require("gradInput", dx, "weight", weight.segment());
        Disjoint.require("gradInput", dx, "gradWeight", gradWeight.segment());
        if (bias != null) {
            Disjoint.require("gradInput", dx, "bias", bias.segment());
            Disjoint.require("gradInput", dx, "gradBias", gradBias.segment());
        }

        accumulateParameterGradients(gradOutput, x);
        int rows = (int) x.shape().rows();
        if (rows > 0 && inFeatures > 0) {
            if (outFeatures == 0) {
                dx.fill((byte) 0);
            } else {
                // dx[rows, in] = dy[rows, out] · W[out, in]
                OpenBlasBindings.sgemm(false, false, rows, (int) inFeatures, (int) outFeatures,
                        1f, gradOutput.segment(), (int) outFeatures, weight.segment(), (int) inFeatures,
                        0f, dx, (int) inFeatures);
            }
        }
        return gradInput;
    }

    /**
     * Adds {@code dyᵀ · x} to {@code dW} and the column sums of {@code dy} to {@code db}, without
     * computing {@code dx}: the backward of a first layer, whose input needs no gradient.
     *
     * @throws IllegalStateException if forward was not called, or an arena is closed
     * @throws IllegalArgumentException if {@code gradOutput} does not have the shape of the output,
     *     or a gradient overlaps it or the saved input
     */
    public void backwardParameters(Tensor gradOutput) {
        Objects.requireNonNull(gradOutput, "gradOutput");
        Tensor x = savedOrThrow();
        checkBackward(gradOutput, x);
        accumulateParameterGradients(gradOutput, x);
    }

    /** Sets {@code dW} and {@code db} to zero. */
    public void zeroGrad() {
        requireParameters();
        gradWeight.segment().fill((byte) 0);
        if (gradBias != null) {
            gradBias.segment().fill((byte) 0);
        }
    }

    /**
     * The input of the last forward, which backward reads.
     *
     * @throws IllegalStateException if forward was not called
     */
    public Tensor savedInput() {
        return savedOrThrow();
    }

    /**
     * What OpenBLAS runs on, like
     * {@code OpenBLAS 0.3.31 DYNAMIC_ARCH ... (core SkylakeX, set by softmax4j; 1 thread)}.
     *
     * @throws IllegalStateException if OpenBLAS cannot be loaded
     */
    public static String blasDescription() {
        int threads = OpenBlasBindings.threads();
        return OpenBlasBindings.config().trim() + " (core " + OpenBlasBindings.coreName()
                + OpenBlasBindings.coreTypeSet().map(t -> ", OPENBLAS_CORETYPE=" + t + " set by softmax4j").orElse("")
                + "; " + threads + (threads == 1 ? " thread)" : " threads)");
    }

    @Override
    public String toString() {
        return "Linear[in=" + inFeatures + ", out=" + outFeatures + (bias == null ? ", no bias" : "")
                + (saved == null ? "" : ", saved " + saved) + "]";
    }

    /** The checks shared by both backward entries; those of the written gradients included. */
    private void checkBackward(Tensor gradOutput, Tensor x) {
        requireShape("gradOutput", gradOutput, outputShape(x));
        requireUsable("gradOutput", gradOutput, false);
        requireUsable("saved input", x, false);
        requireParameters();
        Disjoint.require("gradWeight", gradWeight.segment(), "gradOutput", gradOutput.segment());
        Disjoint.require("gradWeight", gradWeight.segment(), "the saved input", x.segment());
        if (gradBias != null) {
            Disjoint.require("gradBias", gradBias.segment(), "gradOutput", gradOutput.segment());
            Disjoint.require("gradBias", gradBias.segment(), "the saved input", x.segment());
        }
    }

    private void accumulateParameterGradients(Tensor gradOutput, Tensor x) {
        int rows = (int) x.shape().rows();
        if (rows > 0 && outFeatures > 0 && inFeatures > 0) {
            // dW[out, in] += dy[rows, out]ᵀ · x[rows, in]
            OpenBlasBindings.sgemm(true, false, (int) outFeatures, (int) inFeatures, rows,
                    1f, gradOutput.segment(), (int) outFeatures, x.segment(), (int) inFeatures,
                    1f, gradWeight.segment(), (int) inFeatures);
        }
        if (gradBias != null) {
            MemorySegment dy = gradOutput.segment();
            MemorySegment db = gradBias.segment();
            // Row by row, so that both are read in memory order; each column still sums in row order.
            for (long r = 0; r < rows; r++) {
                long row = r * outFeatures;
                for (long c = 0; c < outFeatures; c++) {
                    db.setAtIndex(JAVA_FLOAT, c, db.getAtIndex(JAVA_FLOAT, c) + dy.getAtIndex(JAVA_FLOAT, row + c));
                }
            }
        }
    }

    /** The shape of the output for an input {@code x}: its own, with the last dimension {@code out}. */
    private Shape outputShape(Tensor x) {
        TensorChecks.requireFloat32("x", x);
        Shape shape = x.shape();
        if (shape.cols() != inFeatures) {
            throw new IllegalArgumentException("x must have " + inFeatures + " features in its last dimension,"
                    + " has shape " + shape);
        }
        long[] dims = shape.dims();
        dims[dims.length - 1] = outFeatures;
        return new Shape(dims);
    }

    private void requireParameters() {
        requireUsable("weight", weight, false);
        requireUsable("gradWeight", gradWeight, true);
        if (bias != null) {
            requireUsable("bias", bias, false);
            requireUsable("gradBias", gradBias, true);
        }
    }

    private Tensor savedOrThrow() {
        if (saved == null) {
            throw new IllegalStateException("backward called before forward");
        }
        return saved;
    }

    /** Alive and float memory; writable too if {@code written}. */
    private static void requireUsable(String name, Tensor tensor, boolean written) {
        TensorChecks.requireFloat32(name, tensor);
        MemorySegment segment = tensor.segment();
        Checks.requireAlive(name, segment);
        if (written) {
            Checks.requireOutput(name, segment, segment.byteSize());
        } else {
            Checks.requireInput(name, segment, segment.byteSize());
        }
    }

    private static void requireShape(String name, Tensor tensor, Shape expected) {
        TensorChecks.requireFloat32(name, tensor);
        if (!tensor.shape().equals(expected)) {
            throw new IllegalArgumentException(name + " must have shape " + expected + ", was " + tensor.shape());
        }
    }

    /** OpenBLAS takes sizes as a 32-bit {@code int}. */
    private static int requireBlasSize(String name, long size) {
        if (size < 0 || size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(name + " must be in [0, " + Integer.MAX_VALUE + "], was " + size);
        }
        return (int) size;
    }

    private static void fillUniform(MemorySegment segment, float bound, RandomGenerator random) {
        long n = segment.byteSize() / Float.BYTES;
        for (long i = 0; i < n; i++) {
            segment.setAtIndex(JAVA_FLOAT, i, bound * (2 * random.nextFloat() - 1));
        }
    }
}
