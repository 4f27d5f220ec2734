package org.softmax4j;

import org.softmax4j.internal.Float64Reference;
import org.softmax4j.internal.Reference;

/**
 * The entry point of the child JVMs of {@link FallbackTest}: reports the backend chosen under the
 * system properties and environment it was started with, and checks a small computation. Exits
 * 0 when all is well, 3 when the backend cannot be used (printing the exception), 4 when the
 * results are wrong.
 */
public final class FallbackMain {
    private FallbackMain() {}

    public static void main(String[] args) {
        String backend;
        try {
            backend = Softmax4j.backend();
        } catch (IllegalStateException e) {
            System.out.println("failure: " + e);
            System.exit(3);
            return;
        }
        System.out.println("backend=" + backend);
        System.out.println("isa=" + Softmax4j.isa());
        System.out.println("fallbackReason=" + Softmax4j.fallbackReason().orElse(""));
        int rows = 3;
        int cols = 33;
        float[] x = Softmax4jTest.random(rows * cols, 21);
        float[] gy = Softmax4jTest.random(rows * cols, 22);
        float[] y = new float[x.length];
        float[] gx = new float[x.length];
        // Twice, to show that the choice and its warning happen once.
        for (int i = 0; i < 2; i++) {
            Softmax4j.logSoftmaxForward(x, y, rows, cols);
            Softmax4j.logSoftmaxBackward(gy, y, gx, rows, cols);
        }
        String forward = Reference.mismatch(y, Float64Reference.forward(x, rows, cols), cols);
        String backward = Reference.mismatch(gx, Float64Reference.backward(gy, y, rows, cols), cols);
        if (forward != null || backward != null) {
            System.out.println("wrong results: forward " + forward + ", backward " + backward);
            System.exit(4);
        }
        System.out.println("results ok");
    }
}
