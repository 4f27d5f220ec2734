package org.softmax4j.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * The handwritten digits bundled in the jar (see {@code org/softmax4j/data/README.md} for the
 * source and licence): 8x8 images as 64 pixels 0..16, row-major, and a label 0..9.
 */
record DigitsData(float[] pixels, int[] labels) {
    static final int FEATURES = 64;
    static final int CLASSES = 10;
    private static final String RESOURCE = "/org/softmax4j/data/digits.csv.gz";

    int rows() {
        return labels.length;
    }

    static DigitsData load() {
        try (InputStream raw = DigitsData.class.getResourceAsStream(RESOURCE)) {
            if (raw == null) {
                throw new IllegalStateException("the jar lacks " + RESOURCE);
            }
            return parse(new BufferedReader(
                    new InputStreamReader(new GZIPInputStream(raw), StandardCharsets.US_ASCII)));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE, e);
        }
    }

    private static DigitsData parse(BufferedReader reader) throws IOException {
        List<String[]> lines = new ArrayList<>();
        for (String line; (line = reader.readLine()) != null; ) {
            if (!line.isBlank()) {
                lines.add(line.split(","));
            }
        }
        float[] pixels = new float[lines.size() * FEATURES];
        int[] labels = new int[lines.size()];
        for (int r = 0; r < lines.size(); r++) {
            String[] fields = lines.get(r);
            if (fields.length != FEATURES + 1) {
                throw new IllegalStateException("digits row " + r + " has " + fields.length
                        + " fields, expected " + (FEATURES + 1));
            }
            for (int c = 0; c < FEATURES; c++) {
                pixels[r * FEATURES + c] = Float.parseFloat(fields[c]);
            }
            labels[r] = Integer.parseInt(fields[FEATURES].trim());
        }
        return new DigitsData(pixels, labels);
    }
}
