package org.softmax4j.cli;

/** Updates parameters in place from their accumulated gradients; the gradients are left as they are. */
interface Optimizer {
    void step();
}
