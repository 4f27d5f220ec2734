package org.softmax4j.cli;

import java.lang.foreign.Arena;
import java.util.List;
import org.softmax4j.Linear;
import org.softmax4j.Tensor;

/** A model from 64 pixels to 10 logits, trained by backpropagation. */
interface Classifier {
    /** The name {@code --model} uses. */
    String name();

    /** Logits {@code [rows, 10]} of {@code x [rows, 64]}; keeps what {@link #backward} needs. */
    Tensor forward(Tensor x, Arena arena);

    /** Adds the gradients of the parameters, from the gradient with respect to the last logits. */
    void backward(Tensor gradLogits, Arena arena);

    List<Parameter> parameters();

    void zeroGrad();

    static Parameter weightOf(String layer, Linear linear) {
        return new Parameter(layer + ".weight", linear.weight(), linear.gradWeight());
    }

    static Parameter biasOf(String layer, Linear linear) {
        return new Parameter(layer + ".bias", linear.bias(), linear.gradBias());
    }
}
