package org.softmax4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The train/test split of the digits: fixed, disjoint, complete, and scaled to [0, 1]. */
class TrainSplitTest {
    private static final DigitsData DATA = DigitsData.load();

    @Test
    void theSplitIsTheSameOnEveryCall() {
        DigitsSplit a = DigitsSplit.of(DATA);
        DigitsSplit b = DigitsSplit.of(DATA);
        assertArrayEquals(a.trainRows(), b.trainRows());
        assertArrayEquals(a.testRows(), b.testRows());
        assertArrayEquals(a.train().features(), b.train().features());
    }

    @Test
    void trainAndTestAreDisjointAndCoverEveryRowOnce() {
        DigitsSplit split = DigitsSplit.of(DATA);
        assertEquals(1797, DATA.rows());
        assertEquals(359, split.testRows().length, "20% of 1797, rounded");
        assertEquals(1438, split.trainRows().length);
        int[] all = new int[DATA.rows()];
        for (int row : split.trainRows()) {
            all[row]++;
        }
        for (int row : split.testRows()) {
            all[row]++;
        }
        for (int row = 0; row < all.length; row++) {
            assertEquals(1, all[row], "row " + row + " must be in exactly one set");
        }
    }

    @Test
    void theSplitIsShuffledNotTheFirstRows() {
        DigitsSplit split = DigitsSplit.of(DATA);
        int[] test = split.testRows().clone();
        Arrays.sort(test);
        assertTrue(test[test.length - 1] >= 359, "the test rows are not simply rows 0..358");
        // Every class is in the test set, in roughly its share (about 36 each).
        int[] counts = new int[DigitsData.CLASSES];
        for (int label : split.test().labels()) {
            counts[label]++;
        }
        for (int c = 0; c < counts.length; c++) {
            assertTrue(counts[c] >= 20 && counts[c] <= 55, "class " + c + " has " + counts[c] + " test rows");
        }
    }

    @Test
    void featuresAreThePixelsOverSixteenWithTheirLabels() {
        DigitsSplit split = DigitsSplit.of(DATA);
        int f = DigitsData.FEATURES;
        for (int r = 0; r < split.testRows().length; r++) {
            int source = split.testRows()[r];
            assertEquals(DATA.labels()[source], split.test().labels()[r]);
            for (int c = 0; c < f; c++) {
                float x = split.test().features()[r * f + c];
                assertEquals(DATA.pixels()[source * f + c] / 16f, x);
                assertTrue(x >= 0 && x <= 1);
            }
        }
    }

    @Test
    void shuffledIsAPermutationThatDependsOnTheSeed() {
        int[] a = DigitsSplit.shuffled(100, new java.util.SplittableRandom(1));
        int[] b = DigitsSplit.shuffled(100, new java.util.SplittableRandom(2));
        int[] sorted = a.clone();
        Arrays.sort(sorted);
        for (int i = 0; i < sorted.length; i++) {
            assertEquals(i, sorted[i]);
        }
        assertTrue(!Arrays.equals(a, b));
        assertArrayEquals(a, DigitsSplit.shuffled(100, new java.util.SplittableRandom(1)));
    }
}
