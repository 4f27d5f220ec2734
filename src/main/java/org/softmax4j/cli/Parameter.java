package org.softmax4j.cli;

import org.softmax4j.Tensor;

/** A trainable tensor and the tensor its gradient accumulates in, as an optimizer sees them. */
record Parameter(String name, Tensor value, Tensor grad) {
    Parameter {
        if (!value.shape().equals(grad.shape())) {
            throw new IllegalArgumentException(name + ": gradient shape " + grad.shape()
                    + " differs from value shape " + value.shape());
        }
    }
}
