package org.softmax4j.cli;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.random.RandomGenerator;
import org.softmax4j.Linear;
import org.softmax4j.Tensor;

/** A multilayer perceptron with one hidden layer: linear, ReLU, linear. */
final class Mlp implements Classifier {
    private final Linear hidden;
    private final Relu relu = new Relu();
    private final Linear output;

    Mlp(Arena arena, int hiddenUnits, RandomGenerator random) {
        hidden = new Linear(arena, DigitsData.FEATURES, hiddenUnits, random);
        output = new Linear(arena, hiddenUnits, DigitsData.CLASSES, random);
    }

    @Override
    public String name() {
        return "mlp";
    }

    @Override
    public Tensor forward(Tensor x, Arena arena) {
        return output.forward(relu.forward(hidden.forward(x, arena), arena), arena);
    }

    @Override
    public void backward(Tensor gradLogits, Arena arena) {
        Tensor gradActivations = output.backward(gradLogits, arena);
        // The input needs no gradient: the first layer computes only its own.
        hidden.backwardParameters(relu.backward(gradActivations, arena));
    }

    @Override
    public List<Parameter> parameters() {
        return List.of(Classifier.weightOf("hidden", hidden), Classifier.biasOf("hidden", hidden),
                Classifier.weightOf("output", output), Classifier.biasOf("output", output));
    }

    @Override
    public void zeroGrad() {
        hidden.zeroGrad();
        output.zeroGrad();
    }
}
