package org.softmax4j.internal;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.softmax4j.DType;
import org.softmax4j.internal.NativeBindings.Kernel;

/**
 * The C kernels, called through {@link NativeBindings}: either the one the library dispatches to
 * ({@link #dispatched()}), or one variant pinned by name ({@link #variant(String)}) for tests and
 * benchmarks.
 */
public final class NativeBackend implements Backend {
    /** The variants the library is built with, slowest first. */
    public static final List<String> VARIANTS = List.of("scalar", "avx2", "avx512");

    private static final int S4J_OK = 0;

    private final Kernel kernel;
    private final String isa;
    private final Losses losses;

    private NativeBackend(Kernel kernel, String isa) {
        this.kernel = kernel;
        this.isa = isa;
        this.losses = new NativeLosses(kernel);
    }

    /** Loads the library once and remembers why it failed, if it did. */
    private static final class Link {
        static final LinkageError FAILURE = link();

        private static LinkageError link() {
            try {
                NativeBindings.link();
                LossBindings.link(); // a library without the losses is not ours: fall back as a whole
                return null;
            } catch (LinkageError e) {
                return e;
            }
        }
    }

    /**
     * Why the native library could not be loaded, or empty when it is loaded. The first call
     * loads it.
     */
    public static Optional<LinkageError> loadFailure() {
        return Optional.ofNullable(Link.FAILURE);
    }

    /**
     * The kernel the library dispatches to.
     *
     * @throws IllegalStateException if the library is not loaded, or if {@code SOFTMAX4J_ISA}
     *     forces a variant this CPU cannot run or that does not exist
     */
    public static NativeBackend dispatched() {
        requireLoaded();
        int status = NativeBindings.isaStatus();
        if (status != S4J_OK) {
            throw new IllegalStateException("the native kernel cannot be chosen: " + NativeBindings.strerror(status)
                    + " (SOFTMAX4J_ISA=" + System.getenv("SOFTMAX4J_ISA") + ", this CPU runs "
                    + String.join(", ", supportedVariants()) + ")");
        }
        return new NativeBackend(Kernel.DISPATCHED, NativeBindings.isa());
    }

    /**
     * The variant {@code isa}, bypassing dispatch (and {@code SOFTMAX4J_ISA}).
     *
     * @param isa one of {@link #VARIANTS}
     * @throws IllegalArgumentException if {@code isa} is not a variant, or this CPU cannot run it
     * @throws IllegalStateException if the library is not loaded
     */
    public static Backend variant(String isa) {
        Kernel kernel = switch (isa) {
            case "scalar" -> Kernel.SCALAR;
            case "avx2" -> Kernel.AVX2;
            case "avx512" -> Kernel.AVX512;
            default -> throw new IllegalArgumentException(
                    "isa must be one of " + String.join(", ", VARIANTS) + ", was '" + isa + "'");
        };
        requireLoaded();
        if (!NativeBindings.isaSupported(isa)) {
            throw new IllegalArgumentException("this CPU cannot run the " + isa + " variant (CPU features: "
                    + NativeBindings.cpuFeatures() + ")");
        }
        return new NativeBackend(kernel, isa);
    }

    /**
     * The variants this CPU and OS can run, slowest first.
     *
     * @throws IllegalStateException if the library is not loaded
     */
    public static List<String> supportedVariants() {
        requireLoaded();
        List<String> supported = new ArrayList<>();
        for (String variant : VARIANTS) {
            if (NativeBindings.isaSupported(variant)) {
                supported.add(variant);
            }
        }
        return List.copyOf(supported);
    }

    /**
     * The CPU features that matter to the kernels, as the library sees them.
     *
     * @throws IllegalStateException if the library is not loaded
     */
    public static String cpuFeatures() {
        requireLoaded();
        return NativeBindings.cpuFeatures();
    }

    @Override
    public void forward(MemorySegment x, MemorySegment y, long rows, long cols) {
        check(NativeBindings.forward(kernel, x, y, rows, cols));
    }

    @Override
    public void backward(MemorySegment gy, MemorySegment y, MemorySegment gx, long rows, long cols) {
        check(NativeBindings.backward(kernel, gy, y, gx, rows, cols));
    }

    @Override
    public void forward(SoftmaxOp op, MemorySegment x, MemorySegment y, long outer, long dim, long inner) {
        check(NativeBindings.strided(kernel, op, false, x, null, y, outer, dim, inner));
    }

    @Override
    public void backward(SoftmaxOp op, MemorySegment gy, MemorySegment y, MemorySegment gx, long outer, long dim,
            long inner) {
        check(NativeBindings.strided(kernel, op, true, gy, y, gx, outer, dim, inner));
    }

    @Override
    public void forward(SoftmaxOp op, DType dtype, MemorySegment x, MemorySegment y, long outer, long dim,
            long inner) {
        check(NativeBindings.strided(kernel, op, dtype, false, x, null, y, outer, dim, inner));
    }

    @Override
    public void backward(SoftmaxOp op, DType dtype, MemorySegment gy, MemorySegment y, MemorySegment gx, long outer,
            long dim, long inner) {
        check(NativeBindings.strided(kernel, op, dtype, true, gy, y, gx, outer, dim, inner));
    }

    @Override
    public void logSumExpForward(MemorySegment x, MemorySegment out, long outer, long dim, long inner) {
        check(NativeBindings.logSumExpForward(kernel, x, out, outer, dim, inner));
    }

    @Override
    public void logSumExpBackward(MemorySegment gy, MemorySegment x, MemorySegment gx, long outer, long dim,
            long inner) {
        check(NativeBindings.logSumExpBackward(kernel, gy, x, gx, outer, dim, inner));
    }

    @Override
    public void logSumExpForward(DType dtype, MemorySegment x, MemorySegment out, long outer, long dim,
            long inner) {
        check(NativeBindings.logSumExpForward(kernel, dtype, x, out, outer, dim, inner));
    }

    @Override
    public void logSumExpBackward(DType dtype, MemorySegment gy, MemorySegment x, MemorySegment gx, long outer,
            long dim, long inner) {
        check(NativeBindings.logSumExpBackward(kernel, dtype, gy, x, gx, outer, dim, inner));
    }

    @Override
    public void forwardRows(SoftmaxOp op, DType dtype, MemorySegment x, long xStride, MemorySegment y, long yStride,
            long rows, long cols) {
        check(NativeBindings.strided(kernel, op, dtype, false, x, xStride, null, 0, y, yStride, rows, cols, 1));
    }

    @Override
    public void backwardRows(SoftmaxOp op, DType dtype, MemorySegment gy, long gyStride, MemorySegment y,
            long yStride, MemorySegment gx, long gxStride, long rows, long cols) {
        check(NativeBindings.strided(kernel, op, dtype, true, gy, gyStride, y, yStride, gx, gxStride, rows, cols, 1));
    }

    @Override
    public Losses losses() {
        return losses;
    }

    @Override
    public String name() {
        return "native";
    }

    @Override
    public String isa() {
        return isa;
    }

    @Override
    public String toString() {
        return "NativeBackend[" + (kernel == Kernel.DISPATCHED ? "dispatched " : "pinned ") + isa + "]";
    }

    private static void requireLoaded() {
        LinkageError failure = Link.FAILURE;
        if (failure != null) {
            throw new IllegalStateException("the native library is not loaded: " + failure.getMessage(), failure);
        }
    }

    private static void check(int status) {
        // The Java checks run first, so this means a bug on one side or the other.
        if (status != S4J_OK) {
            throw failure(status);
        }
    }

    /** Apart from {@link #check}, so that the hot path stays small enough to inline. */
    private static IllegalStateException failure(int status) {
        return new IllegalStateException("native kernel failed with " + status + ": " + NativeBindings.strerror(status));
    }
}
