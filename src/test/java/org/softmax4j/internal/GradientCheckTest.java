package org.softmax4j.internal;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Backward checked against the derivative itself, not against the formula it implements: for the
 * loss {@code L(x) = sum(w * logSoftmax(x))} with random weights {@code w}, the gradient that
 * backward computes from {@code gy = w} must match central differences of {@code L}.
 *
 * <p>The differences are taken on the double reference forward, where a step of 1e-4 leaves a
 * truncation error near 1e-9 and a rounding error near 1e-11, far below the tolerance of 1e-5;
 * and once more, coarsely (step 0.05, tolerance 5e-3), on the backend's own float forward. A wrong formula (exp(x) for
 * exp(y), a missing sum, a sign) is off by more than 1e-2: {@link #theCheckRejectsWrongFormulas}
 * makes sure the check would notice.
 */
class GradientCheckTest {
    static final int[] COLS = {1, 2, 3, 7, 16, 17, 33, 64, 100};
    /** For differences of float results with a step of 0.05: rounding noise / 0.1, plus h^2 / 6. */
    static final double FLOAT_TOLERANCE = 5e-3;

    static Stream<String> backends() {
        return TestBackends.names();
    }

    @ParameterizedTest
    @MethodSource("backends")
    void backwardIsTheDerivativeOfForward(String name) {
        Backend backend = TestBackends.get(name);
        for (int cols : COLS) {
            Problem problem = new Problem(cols, cols);
            float[] gx = backward(backend, problem);
            assertNull(compare(gx, problem.numericGradient(), 1e-5), backend + ", cols " + cols);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void backwardMatchesDifferencesOfTheBackendsOwnForward(String name) {
        Backend backend = TestBackends.get(name);
        for (int cols : new int[] {1, 2, 3, 7, 16, 17, 33}) {
            Problem problem = new Problem(cols, cols + 1000);
            double h = 0.05;
            double[] numeric = new double[cols];
            for (int i = 0; i < cols; i++) {
                float[] plus = problem.x.clone();
                float[] minus = problem.x.clone();
                plus[i] += (float) h;
                minus[i] -= (float) h;
                // The float steps are exactly representable differences of the inputs only to
                // rounding, so divide by the steps actually taken.
                double step = (double) plus[i] - minus[i];
                numeric[i] = (problem.loss(floatForward(backend, plus, cols)) - problem.loss(floatForward(backend, minus, cols)))
                        / step;
            }
            float[] gx = backward(backend, problem);
            assertNull(compare(gx, numeric, FLOAT_TOLERANCE), backend + ", cols " + cols + " (float differences)");
        }
    }

    @Test
    void theCheckRejectsWrongFormulas() {
        for (int cols : new int[] {2, 7, 33}) {
            Problem problem = new Problem(cols, cols);
            double[] numeric = problem.numericGradient();
            float[] x = problem.x;
            float[] y = floatForward(JavaBackend.INSTANCE, x, cols);
            // gy - exp(x) * sum(gy): exp of the input instead of the output.
            assertFalse(compare(wrong(problem, (i, s) -> problem.w[i] - Math.exp(x[i]) * s), numeric, 1e-5) == null);
            // gy - exp(y): the sum left out.
            assertFalse(compare(wrong(problem, (i, s) -> problem.w[i] - Math.exp(y[i])), numeric, 1e-5) == null);
            // gy + exp(y) * sum(gy): the sign flipped.
            assertFalse(compare(wrong(problem, (i, s) -> problem.w[i] + Math.exp(y[i]) * s), numeric, 1e-5) == null);
            // And even the coarse tolerance of the float differences notices exp(x) for exp(y).
            assertFalse(compare(wrong(problem, (i, s) -> problem.w[i] - Math.exp(x[i]) * s), numeric, FLOAT_TOLERANCE) == null);
        }
    }

    /** One row: inputs in [-3, 3], weights in [-1, 1], with a weight sum away from 0. */
    static final class Problem {
        final int cols;
        final float[] x;
        final float[] w;

        Problem(int cols, long seed) {
            this.cols = cols;
            Random random = new Random(seed);
            x = new float[cols];
            w = new float[cols];
            for (int i = 0; i < cols; i++) {
                x[i] = -3 + 6 * random.nextFloat();
                w[i] = -1 + 2 * random.nextFloat();
            }
            // A weight sum of 2.5, so that a missing or wrong sum term cannot cancel out.
            float others = 0;
            for (int i = 1; i < cols; i++) {
                others += w[i];
            }
            w[0] = 2.5f - others;
        }

        double loss(double[] y) {
            double sum = 0;
            for (int i = 0; i < cols; i++) {
                sum += w[i] * y[i];
            }
            return sum;
        }

        double loss(float[] y) {
            double sum = 0;
            for (int i = 0; i < cols; i++) {
                sum += w[i] * (double) y[i];
            }
            return sum;
        }

        /** Central differences of L on the double reference. */
        double[] numericGradient() {
            double h = 1e-4;
            double[] gradient = new double[cols];
            for (int i = 0; i < cols; i++) {
                gradient[i] = (loss(doubleForward(i, h)) - loss(doubleForward(i, -h))) / (2 * h);
            }
            return gradient;
        }

        private double[] doubleForward(int index, double step) {
            double[] v = new double[cols];
            double max = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < cols; i++) {
                v[i] = x[i] + (i == index ? step : 0);
                max = Math.max(max, v[i]);
            }
            double sum = 0;
            for (double value : v) {
                sum += Math.exp(value - max);
            }
            double logSum = Math.log(sum);
            for (int i = 0; i < cols; i++) {
                v[i] = (v[i] - max) - logSum;
            }
            return v;
        }
    }

    static float[] floatForward(Backend backend, float[] x, int cols) {
        float[] y = new float[cols];
        backend.forward(MemorySegment.ofArray(x), MemorySegment.ofArray(y), 1, cols);
        return y;
    }

    static float[] backward(Backend backend, Problem problem) {
        float[] y = floatForward(backend, problem.x, problem.cols);
        float[] gx = new float[problem.cols];
        backend.backward(MemorySegment.ofArray(problem.w), MemorySegment.ofArray(y), MemorySegment.ofArray(gx), 1, problem.cols);
        return gx;
    }

    static float[] wrong(Problem problem, BiFunction<Integer, Double, Double> formula) {
        double sum = 0;
        for (float v : problem.w) {
            sum += v;
        }
        float[] gx = new float[problem.cols];
        for (int i = 0; i < gx.length; i++) {
            gx[i] = (float) (double) formula.apply(i, sum);
        }
        return gx;
    }

    static String compare(float[] actual, double[] expected, double tolerance) {
        for (int i = 0; i < actual.length; i++) {
            if (!(Math.abs(actual[i] - expected[i]) <= tolerance * Math.max(1, Math.abs(expected[i])))) {
                return "at " + i + ": backward gives " + actual[i] + ", the difference quotient " + expected[i];
            }
        }
        return null;
    }
}
