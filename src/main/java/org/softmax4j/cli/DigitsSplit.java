package org.softmax4j.cli;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The digits split once into a training set and a test set, features scaled from 0..16 to
 * [0, 1]. The split is a shuffle of the row indices with a fixed seed, independent of the
 * training seed, so that every run and every model is scored on the same test rows.
 *
 * @param trainRows indices into the full data set of the training rows
 * @param testRows indices of the test rows, disjoint from {@code trainRows}
 */
record DigitsSplit(Dataset train, Dataset test, int[] trainRows, int[] testRows) {
    /** The share of rows held out for testing. */
    static final double TEST_FRACTION = 0.2;
    /** The seed of the split; fixed, so that {@code --seed} changes the training only. */
    static final long SPLIT_SEED = 20260101L;
    /** The largest pixel value of the data set. */
    static final float PIXEL_MAX = 16f;

    /** Rows of scaled features, {@code rows x FEATURES} row-major, and their labels. */
    record Dataset(float[] features, int[] labels) {
        int rows() {
            return labels.length;
        }
    }

    static DigitsSplit of(DigitsData data) {
        int[] order = shuffled(data.rows(), new SplittableRandom(SPLIT_SEED));
        int testCount = (int) Math.round(data.rows() * TEST_FRACTION);
        int[] test = Arrays.copyOfRange(order, 0, testCount);
        int[] train = Arrays.copyOfRange(order, testCount, order.length);
        return new DigitsSplit(select(data, train), select(data, test), train, test);
    }

    /** A uniformly random permutation of {@code 0..n-1} (Fisher–Yates). */
    static int[] shuffled(int n, SplittableRandom random) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    private static Dataset select(DigitsData data, int[] rows) {
        int features = DigitsData.FEATURES;
        float[] x = new float[rows.length * features];
        int[] y = new int[rows.length];
        for (int r = 0; r < rows.length; r++) {
            int source = rows[r];
            for (int c = 0; c < features; c++) {
                x[r * features + c] = data.pixels()[source * features + c] / PIXEL_MAX;
            }
            y[r] = data.labels()[source];
        }
        return new Dataset(x, y);
    }
}
