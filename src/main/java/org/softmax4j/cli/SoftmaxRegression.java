package org.softmax4j.cli;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.random.RandomGenerator;
import org.softmax4j.Linear;
import org.softmax4j.Tensor;

/** Multinomial logistic regression: one linear layer from the pixels to the logits. */
final class SoftmaxRegression implements Classifier {
    private final Linear linear;

    SoftmaxRegression(Arena arena, RandomGenerator random) {
        linear = new Linear(arena, DigitsData.FEATURES, DigitsData.CLASSES, random);
    }

    @Override
    public String name() {
        return "softmax";
    }

    @Override
    public Tensor forward(Tensor x, Arena arena) {
        return linear.forward(x, arena);
    }

    @Override
    public void backward(Tensor gradLogits, Arena arena) {
        linear.backwardParameters(gradLogits);
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(Classifier.weightOf("linear", linear), Classifier.biasOf("linear", linear));
    }

    @Override
    public void zeroGrad() {
        linear.zeroGrad();
    }
}
