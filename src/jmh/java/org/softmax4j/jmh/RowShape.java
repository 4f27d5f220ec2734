package org.softmax4j.jmh;

/**
 * A benchmark shape, {@code rows x cols}, parsed from a JMH parameter such as {@code "256x32000"}.
 *
 * @param rows the number of rows, each normalised on its own
 * @param cols the row length
 */
record RowShape(int rows, int cols) {

    static RowShape parse(String text) {
        int x = text.indexOf('x');
        if (x <= 0) {
            throw new IllegalArgumentException("shape must look like 64x1000, was '" + text + "'");
        }
        int rows = Integer.parseInt(text.substring(0, x));
        int cols = Integer.parseInt(text.substring(x + 1));
        if (rows <= 0 || cols <= 0 || (long) rows * cols > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("shape must have rows, cols > 0 and fit a float[], was '" + text + "'");
        }
        return new RowShape(rows, cols);
    }

    int numel() {
        return rows * cols;
    }
}
