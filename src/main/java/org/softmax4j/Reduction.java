package org.softmax4j;

/** How a loss reduces its per-position values, as PyTorch's {@code reduction} argument. */
public enum Reduction {
    /** One loss per position, of the shape of the class-index target. */
    NONE,
    /** The sum of the per-position losses, shape {@code [1]}. */
    SUM,
    /**
     * The sum divided by the weight of the counted positions (class-index targets: the sum of
     * {@code weight[target]} over positions not ignored; probability targets: the number of
     * positions), shape {@code [1]}; NaN when nothing is counted.
     */
    MEAN
}
