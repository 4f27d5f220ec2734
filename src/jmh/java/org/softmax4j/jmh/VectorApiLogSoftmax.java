package org.softmax4j.jmh;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.CompilerControl;

/**
 * The baseline a Java developer writes with the Vector API: {@link FloatVector} of the preferred
 * shape (16 lanes with AVX-512), its own vector exp, and the same passes as the scalar loop (max,
 * sum of exp, write forward; sum, write backward). Row tails shorter than a vector are scalar.
 */
final class VectorApiLogSoftmax {
    private VectorApiLogSoftmax() {}

    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();

    // exp(v) = 2^n * exp(r), n = round(v / ln2), r = v - n * ln2 in [-ln2/2, ln2/2] with ln2 split
    // in two (Cody-Waite) so that n * LN2_HI is exact; exp(r) = 1 + r + r^2 * P(r), with P the
    // degree-5 minimax polynomial of the Cephes expf (about 1 ulp).
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float P0 = 1.9875691500e-4f;
    private static final float P1 = 1.3981999507e-3f;
    private static final float P2 = 8.3334519073e-3f;
    private static final float P3 = 4.1665795894e-2f;
    private static final float P4 = 1.6666665459e-1f;
    private static final float P5 = 5.0000001201e-1f;
    /** 1.5 * 2^23: adding it rounds to an integer, which then sits in the low mantissa bits. */
    private static final float ROUNDER = 12582912f;
    private static final int ROUNDER_BITS = 0x4B400000;
    /** Below this, exp is subnormal; 0 there keeps 2^n a normal float (and exp(-inf) = 0). */
    private static final float EXP_MIN_ARG = -87.33f;

    private static final FloatVector MINUS_LN2_HI = FloatVector.broadcast(SPECIES, -LN2_HI);
    private static final FloatVector MINUS_LN2_LO = FloatVector.broadcast(SPECIES, -LN2_LO);
    private static final FloatVector C2 = FloatVector.broadcast(SPECIES, P2);
    private static final FloatVector C3 = FloatVector.broadcast(SPECIES, P3);
    private static final FloatVector C4 = FloatVector.broadcast(SPECIES, P4);
    private static final FloatVector C5 = FloatVector.broadcast(SPECIES, P5);

    /**
     * exp of each lane, for lanes {@code <= 0} (the shifted logits and log-probabilities).
     *
     * <p>Forced inline: C2 inlines a 132-byte method only at call sites its profile finds hot, and
     * when it does not, every vector crossing the call is boxed and a pass runs 10-100 times slower
     * (seen on 1x1000). The JDK's own vector methods carry {@code @ForceInline} for this reason.
     */
    @CompilerControl(CompilerControl.Mode.INLINE)
    static FloatVector exp(FloatVector v) {
        FloatVector t = v.fma(LOG2E, ROUNDER);
        FloatVector n = t.sub(ROUNDER);
        FloatVector r = n.fma(MINUS_LN2_HI, v);
        r = n.fma(MINUS_LN2_LO, r);
        FloatVector p = r.fma(P0, P1).fma(r, C2).fma(r, C3).fma(r, C4).fma(r, C5);
        FloatVector expR = p.fma(r.mul(r), r).add(1f);
        FloatVector twoN = t.reinterpretAsInts()
                .add(127 - ROUNDER_BITS)
                .lanewise(VectorOperators.LSHL, 23)
                .reinterpretAsFloats();
        return expR.mul(twoN).blend(0f, v.compare(VectorOperators.LT, EXP_MIN_ARG));
    }

    static void forward(float[] x, float[] y, int rows, int cols) {
        for (int r = 0; r < rows; r++) {
            int from = r * cols;
            int to = from + cols;
            int vectorTo = from + SPECIES.loopBound(cols);
            float max = max(x, from, vectorTo, to);
            float logSum = (float) Math.log(sumExp(x, from, vectorTo, to, max));
            int i = from;
            for (; i < vectorTo; i += LANES) {
                FloatVector.fromArray(SPECIES, x, i).sub(max).sub(logSum).intoArray(y, i);
            }
            for (; i < to; i++) {
                y[i] = (x[i] - max) - logSum;
            }
        }
    }

    static void backward(float[] gy, float[] y, float[] gx, int rows, int cols) {
        for (int r = 0; r < rows; r++) {
            int from = r * cols;
            int to = from + cols;
            int vectorTo = from + SPECIES.loopBound(cols);
            float sum = sum(gy, from, vectorTo, to);
            FloatVector minusSum = FloatVector.broadcast(SPECIES, -sum);
            int i = from;
            for (; i < vectorTo; i += LANES) {
                FloatVector g = FloatVector.fromArray(SPECIES, gy, i);
                exp(FloatVector.fromArray(SPECIES, y, i)).fma(minusSum, g).intoArray(gx, i);
            }
            for (; i < to; i++) {
                gx[i] = gy[i] - (float) Math.exp(y[i]) * sum;
            }
        }
    }

    private static float max(float[] a, int from, int vectorTo, int to) {
        // Two accumulators, so that loads are not held up by the latency of max.
        FloatVector m0 = FloatVector.broadcast(SPECIES, Float.NEGATIVE_INFINITY);
        FloatVector m1 = m0;
        int i = from;
        for (; i + LANES < vectorTo; i += 2 * LANES) {
            m0 = m0.max(FloatVector.fromArray(SPECIES, a, i));
            m1 = m1.max(FloatVector.fromArray(SPECIES, a, i + LANES));
        }
        for (; i < vectorTo; i += LANES) {
            m0 = m0.max(FloatVector.fromArray(SPECIES, a, i));
        }
        float max = m0.max(m1).reduceLanes(VectorOperators.MAX);
        for (; i < to; i++) {
            max = Math.max(max, a[i]);
        }
        return max;
    }

    private static float sumExp(float[] a, int from, int vectorTo, int to, float max) {
        FloatVector s0 = FloatVector.zero(SPECIES);
        FloatVector s1 = s0;
        int i = from;
        for (; i + LANES < vectorTo; i += 2 * LANES) {
            s0 = s0.add(exp(FloatVector.fromArray(SPECIES, a, i).sub(max)));
            s1 = s1.add(exp(FloatVector.fromArray(SPECIES, a, i + LANES).sub(max)));
        }
        for (; i < vectorTo; i += LANES) {
            s0 = s0.add(exp(FloatVector.fromArray(SPECIES, a, i).sub(max)));
        }
        float sum = s0.add(s1).reduceLanes(VectorOperators.ADD);
        for (; i < to; i++) {
            sum += (float) Math.exp(a[i] - max);
        }
        return sum;
    }

    private static float sum(float[] a, int from, int vectorTo, int to) {
        FloatVector s0 = FloatVector.zero(SPECIES);
        FloatVector s1 = s0;
        int i = from;
        for (; i + LANES < vectorTo; i += 2 * LANES) {
            s0 = s0.add(FloatVector.fromArray(SPECIES, a, i));
            s1 = s1.add(FloatVector.fromArray(SPECIES, a, i + LANES));
        }
        for (; i < vectorTo; i += LANES) {
            s0 = s0.add(FloatVector.fromArray(SPECIES, a, i));
        }
        float sum = s0.add(s1).reduceLanes(VectorOperators.ADD);
        for (; i < to; i++) {
            sum += a[i];
        }
        return sum;
    }
}
