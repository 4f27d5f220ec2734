package org.softmax4j;

import java.lang.foreign.MemorySegment;
import org.softmax4j.internal.Backends;
import org.softmax4j.internal.Checks;
import org.softmax4j.internal.SoftmaxOp;

/**
 * {@link LogSoftmax} and {@link Softmax} over the last dimension when a tensor is a view with
 * strided rows ({@link Tensor#narrow} along the last dimension): the checks that the contiguous
 * path makes on whole segments, made here on each tensor's span, then one call to the kernels with
 * a stride per tensor. The gaps between rows are never read or written.
 */
final class StridedRows {
    private StridedRows() {}

    /** Whether any of the tensors is a view with strided rows. */
    static boolean any(Tensor... tensors) {
        for (Tensor tensor : tensors) {
            if (!tensor.isContiguous()) {
                return true;
            }
        }
        return false;
    }

    /** Forward of {@code op} over the last dimension, {@code d}, from {@code x} into {@code out}. */
    static void forward(SoftmaxOp op, int d, Tensor x, Tensor out) {
        Shape shape = x.shape();
        requireLastDim(d, shape, x.isContiguous() ? "out" : "x");
        check("x", x, false);
        check("out", out, true);
        requireSameOrDisjoint("out", out, "x", x);
        if (shape.numel() != 0) {
            Backends.get().forwardRows(op, x.dtype(), x.span(), x.rowStride(), out.span(), out.rowStride(),
                    shape.rows(), shape.cols());
        }
    }

    /** Backward of {@code op} from the saved output {@code y} into {@code gx}. */
    static void backward(SoftmaxOp op, int d, Tensor gy, Tensor y, Tensor gx) {
        Shape shape = y.shape();
        requireLastDim(d, shape, !gy.isContiguous() ? "gradOutput" : !y.isContiguous() ? "the saved output"
                : "gradInput");
        check("gradOutput", gy, false);
        check("saved output", y, false);
        check("gradInput", gx, true);
        requireSameOrDisjoint("gradInput", gx, "gradOutput", gy);
        if (overlaps(gx.span(), y.span())) {
            throw new IllegalArgumentException("gradInput overlaps the saved output, which must stay intact");
        }
        if (shape.numel() != 0) {
            Backends.get().backwardRows(op, y.dtype(), gy.span(), gy.rowStride(), y.span(), y.rowStride(),
                    gx.span(), gx.rowStride(), shape.rows(), shape.cols());
        }
    }

    private static void requireLastDim(int d, Shape shape, String name) {
        if (d != shape.rank() - 1) {
            throw new IllegalArgumentException(name + " is a view with strided rows: it can only be reduced over"
                    + " the last dimension (" + (shape.rank() - 1) + " or -1), the dimension here is " + d);
        }
    }

    /** Alive, element memory of its dtype, and for an output writable: on the whole span. */
    private static void check(String name, Tensor tensor, boolean output) {
        MemorySegment span = tensor.span();
        Checks.requireAlive(name, span);
        Checks.requireInput(name, span, span.byteSize(), tensor.dtype());
        if (output && span.isReadOnly()) {
            throw new IllegalArgumentException(name + " is read-only, but it is written");
        }
    }

    /** In place needs the very same view; anything else must not share a byte. */
    private static void requireSameOrDisjoint(String outName, Tensor out, String inName, Tensor in) {
        boolean same = out.span().address() == in.span().address() && out.rowStride() == in.rowStride()
                && out.span().isNative() == in.span().isNative()
                && out.span().heapBase().equals(in.span().heapBase());
        if (!same && overlaps(out.span(), in.span())) {
            throw new IllegalArgumentException(outName + " overlaps " + inName + " without being the same view");
        }
    }

    private static boolean overlaps(MemorySegment a, MemorySegment b) {
        return a.asOverlappingSlice(b).isPresent();
    }
}
