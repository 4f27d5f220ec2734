package org.softmax4j.cli;

import java.io.PrintStream;
import org.softmax4j.Softmax4j;
import org.softmax4j.internal.Float64Reference;

/**
 * Runs the active kernel on real data (the bundled handwritten digits, each image's 64 pixels
 * taken as one row of logits) and on special values, and compares every result with a double
 * reference. It checks the installed library end to end, the way a user would call it.
 */
final class SelfCheck {
    /** The accuracy the library promises: |error| <= 2e-6 * max(1, |exact|). */
    static final double BOUND = Float64Reference.BOUND;

    private final PrintStream out;
    private int failures;

    private SelfCheck(PrintStream out) {
        this.out = out;
    }

    /** Prints one line per check; returns whether all passed. */
    static boolean run(PrintStream out, DigitsData digits) {
        SelfCheck check = new SelfCheck(out);
        int rows = digits.rows();
        int cols = DigitsData.FEATURES;
        check.forward("forward, pixels x 0.5 as logits (0..8)", scaled(digits.pixels(), 0.5f), rows, cols);
        check.forward("forward, pixels x 6 as logits (0..96, where a plain exp overflows)",
                scaled(digits.pixels(), 6f), rows, cols);
        check.backward("backward of the NLL loss, softmax - onehot(label)", digits, 0.5f);
        check.forward("forward, blank pixels masked to -inf", masked(digits.pixels()), rows, cols);
        check.specialRows(cols);
        return check.failures == 0;
    }

    private void forward(String what, float[] x, int rows, int cols) {
        float[] y = new float[x.length];
        Softmax4j.logSoftmaxForward(x, y, rows, cols);
        report(what, Float64Reference.maxScaledError(y, Float64Reference.forward(x, rows, cols)));
    }

    private void backward(String what, DigitsData digits, float scale) {
        int rows = digits.rows();
        int cols = DigitsData.FEATURES;
        float[] x = scaled(digits.pixels(), scale);
        float[] y = new float[x.length];
        Softmax4j.logSoftmaxForward(x, y, rows, cols);
        // The gradient of -log p[label] with respect to y is -onehot(label); the digits have
        // 10 labels and 64 logits, so the label indexes the first 10 columns.
        float[] gy = new float[x.length];
        for (int r = 0; r < rows; r++) {
            gy[r * cols + digits.labels()[r]] = -1f;
        }
        float[] gx = new float[x.length];
        Softmax4j.logSoftmaxBackward(gy, y, gx, rows, cols);
        report(what, Float64Reference.maxScaledError(gx, Float64Reference.backward(gy, y, rows, cols)));
    }

    /** Rows whose results are fixed by definition: they must come out exactly so. */
    private void specialRows(int cols) {
        float[] x = new float[3 * cols];
        java.util.Arrays.fill(x, 0, cols, Float.NEGATIVE_INFINITY); // all masked: NaN
        java.util.Arrays.fill(x, cols, 2 * cols, 1e8f); // equal huge logits: log(1/cols)
        for (int c = 0; c < cols; c++) { // one NaN poisons its row, and only its row
            x[2 * cols + c] = c == cols - 1 ? Float.NaN : c;
        }
        float[] y = new float[x.length];
        Softmax4j.logSoftmaxForward(x, y, 3, cols);
        boolean ok = true;
        float uniform = (float) -Math.log(cols);
        for (int c = 0; c < cols; c++) {
            ok &= Float.isNaN(y[c]);
            ok &= Math.abs(y[cols + c] - uniform) <= Math.ulp(uniform);
            ok &= Float.isNaN(y[2 * cols + c]);
        }
        report("special rows: all -inf, all 1e8, one NaN", ok ? 0 : Double.POSITIVE_INFINITY);
    }

    private void report(String what, double error) {
        boolean ok = error <= BOUND;
        if (!ok) {
            failures++;
        }
        out.printf("  %-4s %-70s max error %.2e%n", ok ? "ok" : "FAIL", what, error);
    }

    private static float[] scaled(float[] pixels, float scale) {
        float[] x = new float[pixels.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = pixels[i] * scale;
        }
        return x;
    }

    /** Blank pixels become -inf, like the padding mask of an attention layer. */
    private static float[] masked(float[] pixels) {
        float[] x = new float[pixels.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = pixels[i] == 0 ? Float.NEGATIVE_INFINITY : pixels[i] * 0.5f;
        }
        return x;
    }
}
