package org.softmax4j.cli;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * Stochastic gradient descent with momentum, in PyTorch's form: {@code v = μ·v + g},
 * {@code p -= lr·v} (with {@code μ = 0}, plain {@code p -= lr·g}). The velocity starts at zero,
 * so the first step is {@code p -= lr·g} either way.
 */
final class Sgd implements Optimizer {
    private final List<Parameter> parameters;
    private final float lr;
    private final float momentum;
    private final float[][] velocity;

    Sgd(List<Parameter> parameters, double lr, double momentum) {
        this.parameters = List.copyOf(parameters);
        this.lr = (float) lr;
        this.momentum = (float) momentum;
        this.velocity = new float[this.parameters.size()][];
        for (int i = 0; i < velocity.length; i++) {
            velocity[i] = new float[Math.toIntExact(this.parameters.get(i).value().numel())];
        }
    }

    @Override
    public void step() {
        for (int i = 0; i < velocity.length; i++) {
            MemorySegment p = parameters.get(i).value().segment();
            MemorySegment g = parameters.get(i).grad().segment();
            float[] v = velocity[i];
            for (int k = 0; k < v.length; k++) {
                v[k] = momentum * v[k] + g.getAtIndex(JAVA_FLOAT, k);
                p.setAtIndex(JAVA_FLOAT, k, p.getAtIndex(JAVA_FLOAT, k) - lr * v[k]);
            }
        }
    }
}
