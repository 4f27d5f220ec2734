package org.softmax4j.internal;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import java.lang.foreign.MemorySegment;

/**
 * The pure-Java losses, used when the native library cannot load: the arithmetic of
 * {@code cross_entropy.c} and {@code nll_loss.c} step for step (the max in float, the sum of
 * exponentials and each position's loss in double, {@code p = exp((x - m) - logSum)} in that
 * order), so both backends give the same special values and agree to float rounding.
 */
public final class JavaLosses implements Losses {
    public static final JavaLosses INSTANCE = new JavaLosses();

    private JavaLosses() {}

    @Override
    public void crossEntropyForward(MemorySegment logits, long n, long classes, long inner, MemorySegment target,
            int targetKind, MemorySegment weight, long ignoreIndex, float labelSmoothing, MemorySegment loss,
            MemorySegment stats, double[] totals) {
        double eps = labelSmoothing;
        double smooth = eps / classes;
        double sum = 0;
        double denominator = 0;
        for (long i = 0; i < n; i++) {
            for (long j = 0; j < inner; j++) {
                long p = i * inner + j;
                long base = i * classes * inner + j;
                boolean probs = targetKind == TARGET_PROB_F32;
                long t = probs ? -1 : index(target, targetKind, p);
                if (!probs && t == ignoreIndex) {
                    setFloat(loss, p, 0f);
                    setFloat(stats, 2 * p, 0f);
                    setFloat(stats, 2 * p + 1, 0f);
                    continue;
                }
                // A NaN never wins the comparison; it spreads through x - m below.
                float m = Float.NEGATIVE_INFINITY;
                for (long c = 0; c < classes; c++) {
                    float v = x(logits, base + c * inner);
                    m = v > m ? v : m;
                }
                double s = 0;
                for (long c = 0; c < classes; c++) {
                    s += Math.exp(x(logits, base + c * inner) - m);
                }
                double logSum = Math.log(s);
                double l = 0;
                if (probs) {
                    for (long c = 0; c < classes; c++) {
                        double q = w(weight, c) * ((1 - eps) * x(target, base + c * inner) + smooth);
                        l += q * (((double) m - x(logits, base + c * inner)) + logSum);
                    }
                    denominator += 1;
                } else {
                    double wt = w(weight, t);
                    l = (1 - eps) * wt * (((double) m - x(logits, base + t * inner)) + logSum);
                    if (eps > 0) {
                        double spread = 0;
                        for (long c = 0; c < classes; c++) {
                            spread += w(weight, c) * (((double) m - x(logits, base + c * inner)) + logSum);
                        }
                        l += smooth * spread;
                    }
                    denominator += wt;
                }
                setFloat(loss, p, (float) l);
                setFloat(stats, 2 * p, m);
                setFloat(stats, 2 * p + 1, (float) logSum);
                sum += l;
            }
        }
        totals[0] = sum;
        totals[1] = denominator;
    }

    @Override
    public void crossEntropyBackward(MemorySegment logits, MemorySegment stats, long n, long classes, long inner,
            MemorySegment target, int targetKind, MemorySegment weight, long ignoreIndex, float labelSmoothing,
            MemorySegment gradLoss, float gradScale, MemorySegment gradLogits) {
        double eps = labelSmoothing;
        double smooth = eps / classes;
        double weightTotal = 0;
        for (long c = 0; c < classes; c++) {
            weightTotal += w(weight, c);
        }
        for (long i = 0; i < n; i++) {
            for (long j = 0; j < inner; j++) {
                long p = i * inner + j;
                long base = i * classes * inner + j;
                float scale = gradLoss.equals(MemorySegment.NULL) ? gradScale : gradScale * x(gradLoss, p);
                float m = x(stats, 2 * p);
                float logSum = x(stats, 2 * p + 1);
                if (targetKind == TARGET_PROB_F32) {
                    double qTotal = 0;
                    for (long c = 0; c < classes; c++) {
                        qTotal += w(weight, c) * ((1 - eps) * x(target, base + c * inner) + smooth);
                    }
                    float alpha = (float) (scale * qTotal);
                    float beta = (float) (scale * (1 - eps));
                    float gamma = (float) (scale * smooth);
                    for (long c = 0; c < classes; c++) {
                        long e = base + c * inner;
                        float q = beta * x(target, e) + gamma;
                        gradLogits.set(JAVA_FLOAT_UNALIGNED, e * Float.BYTES, grad(logits, e, m, logSum, alpha, weight, c, q));
                    }
                    continue;
                }
                long t = index(target, targetKind, p);
                if (t == ignoreIndex) {
                    for (long c = 0; c < classes; c++) {
                        gradLogits.set(JAVA_FLOAT_UNALIGNED, (base + c * inner) * Float.BYTES, 0f);
                    }
                    continue;
                }
                double wt = w(weight, t);
                float alpha = (float) (scale * ((1 - eps) * wt + smooth * weightTotal));
                float gamma = (float) (scale * smooth);
                for (long c = 0; c < classes; c++) {
                    long e = base + c * inner;
                    gradLogits.set(JAVA_FLOAT_UNALIGNED, e * Float.BYTES, grad(logits, e, m, logSum, alpha, weight, c, gamma));
                }
                long e = base + t * inner;
                float g = gradLogits.get(JAVA_FLOAT_UNALIGNED, e * Float.BYTES);
                gradLogits.set(JAVA_FLOAT_UNALIGNED, e * Float.BYTES, g - (float) (scale * (1 - eps) * wt));
            }
        }
    }

    @Override
    public void nllForward(MemorySegment logProbs, long n, long classes, long inner, MemorySegment target,
            int targetKind, MemorySegment weight, long ignoreIndex, MemorySegment loss, double[] totals) {
        double sum = 0;
        double denominator = 0;
        for (long p = 0; p < n * inner; p++) {
            long t = index(target, targetKind, p);
            if (t == ignoreIndex) {
                setFloat(loss, p, 0f);
                continue;
            }
            double wt = w(weight, t);
            double l = -wt * x(logProbs, ((p / inner) * classes + t) * inner + p % inner);
            setFloat(loss, p, (float) l);
            sum += l;
            denominator += wt;
        }
        totals[0] = sum;
        totals[1] = denominator;
    }

    @Override
    public void nllBackward(long n, long classes, long inner, MemorySegment target, int targetKind,
            MemorySegment weight, long ignoreIndex, MemorySegment gradLoss, float gradScale,
            MemorySegment gradLogProbs) {
        gradLogProbs.asSlice(0, n * classes * inner * Float.BYTES).fill((byte) 0);
        for (long p = 0; p < n * inner; p++) {
            long t = index(target, targetKind, p);
            if (t == ignoreIndex) {
                continue;
            }
            float scale = gradLoss.equals(MemorySegment.NULL) ? gradScale : gradScale * x(gradLoss, p);
            float wt = weight.equals(MemorySegment.NULL) ? 1f : x(weight, t);
            long e = ((p / inner) * classes + t) * inner + p % inner;
            gradLogProbs.set(JAVA_FLOAT_UNALIGNED, e * Float.BYTES, -(scale * wt));
        }
    }

    @Override
    public String name() {
        return "java";
    }

    /** {@code alpha * p_c - w_c * q}, rounded as the C kernels round it. */
    private static float grad(MemorySegment logits, long e, float m, float logSum, float alpha, MemorySegment weight,
            long c, float q) {
        float p = (float) Math.exp((x(logits, e) - m) - logSum);
        float wc = weight.equals(MemorySegment.NULL) ? 1f : x(weight, c);
        return alpha * p - wc * q;
    }

    private static float x(MemorySegment segment, long index) {
        return segment.get(JAVA_FLOAT_UNALIGNED, index * Float.BYTES);
    }

    private static double w(MemorySegment weight, long c) {
        return weight.equals(MemorySegment.NULL) ? 1.0 : x(weight, c);
    }

    private static long index(MemorySegment target, int kind, long p) {
        return kind == TARGET_INT32
                ? target.get(JAVA_INT_UNALIGNED, p * Integer.BYTES)
                : target.get(JAVA_LONG_UNALIGNED, p * Long.BYTES);
    }

    private static void setFloat(MemorySegment segment, long index, float value) {
        if (!segment.equals(MemorySegment.NULL)) {
            segment.set(JAVA_FLOAT_UNALIGNED, index * Float.BYTES, value);
        }
    }
}
