package org.softmax4j.cli;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * Adam (Kingma and Ba, 2015) with bias correction, as PyTorch's {@code torch.optim.Adam} without
 * weight decay: {@code m = β1·m + (1−β1)·g}, {@code v = β2·v + (1−β2)·g²}, then
 * {@code p -= lr · (m / (1−β1ᵗ)) / (sqrt(v / (1−β2ᵗ)) + ε)}.
 *
 * <p>The moments are kept in {@code float}, the bias corrections in {@code double}: after many
 * steps {@code 1 − β2ᵗ} approaches 1 and its float rounding would show in every update.
 */
final class Adam implements Optimizer {
    static final double BETA1 = 0.9;
    static final double BETA2 = 0.999;
    static final double EPSILON = 1e-8;

    private final List<Parameter> parameters;
    private final double lr;
    private final float[][] first;
    private final float[][] second;
    private int steps;

    Adam(List<Parameter> parameters, double lr) {
        this.parameters = List.copyOf(parameters);
        this.lr = lr;
        this.first = new float[this.parameters.size()][];
        this.second = new float[this.parameters.size()][];
        for (int i = 0; i < first.length; i++) {
            int n = Math.toIntExact(this.parameters.get(i).value().numel());
            first[i] = new float[n];
            second[i] = new float[n];
        }
    }

    @Override
    public void step() {
        steps++;
        double correction1 = 1 - Math.pow(BETA1, steps);
        double correction2 = 1 - Math.pow(BETA2, steps);
        for (int i = 0; i < first.length; i++) {
            MemorySegment p = parameters.get(i).value().segment();
            MemorySegment g = parameters.get(i).grad().segment();
            float[] m = first[i];
            float[] v = second[i];
            for (int k = 0; k < m.length; k++) {
                float grad = g.getAtIndex(JAVA_FLOAT, k);
                m[k] = (float) (BETA1 * m[k] + (1 - BETA1) * grad);
                v[k] = (float) (BETA2 * v[k] + (1 - BETA2) * grad * grad);
                double update = lr * (m[k] / correction1) / (Math.sqrt(v[k] / correction2) + EPSILON);
                p.setAtIndex(JAVA_FLOAT, k, (float) (p.getAtIndex(JAVA_FLOAT, k) - update));
            }
        }
    }
}
