package org.softmax4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.softmax4j.DType;

/**
 * Every backend's softmax and log-softmax over strided rows (rows of {@code cols} floats,
 * {@code stride} apart in a larger buffer) against the reference on the same rows, with the
 * gaps between rows left untouched.
 */
class StridedRowsBackendTest {
    @ParameterizedTest
    @MethodSource("org.softmax4j.internal.FamilyBackendTest#cases")
    void matchesTheReferenceAndLeavesTheGapsAlone(String name, SoftmaxOp op) {
        Backend backend = TestBackends.get(name);
        // {rows, cols, stride of x, of y/saved, of gx}: short and long rows, different strides.
        int[][] shapes = {{5, 10, 16, 13, 11}, {3, 1000, 1003, 1000, 1024}, {4, 33, 40, 33, 64}};
        for (int[] s : shapes) {
            int rows = s[0], cols = s[1], xs = s[2], ys = s[3], gs = s[4];
            Random random = new Random(rows * 131L + cols);
            float[] x = filled(rows * xs, Float.NaN);
            float[] gy = filled(rows * xs, Float.NaN);
            float[] packedX = new float[rows * cols];
            float[] packedGy = new float[rows * cols];
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    packedX[r * cols + c] = x[r * xs + c] = random.nextFloat(-8, 8);
                    packedGy[r * cols + c] = gy[r * xs + c] = random.nextFloat(-1, 1);
                }
            }
            float[] y = filled(rows * ys, 7f);
            backend.forwardRows(op, DType.FLOAT32, MemorySegment.ofArray(x), xs, MemorySegment.ofArray(y), ys, rows,
                    cols);
            float[] packedY = gather(y, rows, cols, ys);
            String where = backend + " " + op + " rows " + rows + "x" + cols + ": ";
            String forward = Reference.mismatch(packedY, FamilyReference.forward(op, packedX, rows, cols, 1), cols);
            assertNull(forward, () -> where + "forward " + forward);
            requireGaps(y, rows, cols, ys, 7f, where + "forward");

            float[] gx = filled(rows * gs, -3f);
            backend.backwardRows(op, DType.FLOAT32, MemorySegment.ofArray(gy), xs, MemorySegment.ofArray(y), ys,
                    MemorySegment.ofArray(gx), gs, rows, cols);
            String backward = Reference.mismatch(gather(gx, rows, cols, gs),
                    FamilyReference.backward(op, packedGy, packedY, rows, cols, 1), cols);
            assertNull(backward, () -> where + "backward " + backward);
            requireGaps(gx, rows, cols, gs, -3f, where + "backward");
        }
    }

    private static float[] filled(int n, float value) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, value);
        return a;
    }

    private static float[] gather(float[] strided, int rows, int cols, int stride) {
        float[] packed = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(strided, r * stride, packed, r * cols, cols);
        }
        return packed;
    }

    private static void requireGaps(float[] strided, int rows, int cols, int stride, float value, String where) {
        for (int r = 0; r < rows; r++) {
            for (int c = cols; c < stride; c++) {
                assertEquals(value, strided[r * stride + c], where + ": gap of row " + r + " written at " + c);
            }
        }
    }
}
