package org.softmax4j.cli;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.softmax4j.Tensor;

/**
 * {@code max(0, x)} element by element. Backward needs only where the output is positive, so it
 * reads the saved output: the gradient passes where {@code y > 0} and is zero elsewhere,
 * including at {@code x = 0} (PyTorch's choice of subgradient).
 */
final class Relu {
    private Tensor saved;

    Tensor forward(Tensor x, Arena arena) {
        Tensor y = Tensor.allocate(arena, x.shape().dims());
        MemorySegment in = x.segment();
        MemorySegment out = y.segment();
        for (long i = 0, n = x.numel(); i < n; i++) {
            out.setAtIndex(JAVA_FLOAT, i, Math.max(0f, in.getAtIndex(JAVA_FLOAT, i)));
        }
        saved = y;
        return y;
    }

    Tensor backward(Tensor gradOutput, Arena arena) {
        if (saved == null) {
            throw new IllegalStateException("backward called before forward");
        }
        if (!gradOutput.shape().equals(saved.shape())) {
            throw new IllegalArgumentException("gradOutput must have shape " + saved.shape()
                    + ", was " + gradOutput.shape());
        }
        Tensor gradInput = Tensor.allocate(arena, saved.shape().dims());
        MemorySegment y = saved.segment();
        MemorySegment gy = gradOutput.segment();
        MemorySegment gx = gradInput.segment();
        for (long i = 0, n = saved.numel(); i < n; i++) {
            gx.setAtIndex(JAVA_FLOAT, i, y.getAtIndex(JAVA_FLOAT, i) > 0 ? gy.getAtIndex(JAVA_FLOAT, i) : 0f);
        }
        return gradInput;
    }
}
