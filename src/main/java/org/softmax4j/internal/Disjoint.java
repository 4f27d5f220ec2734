package org.softmax4j.internal;

import java.lang.foreign.MemorySegment;

/**
 * The overlap check for segments of different sizes, which {@link Checks#requireDisjoint} (for two
 * ranges of one length) does not cover: a matrix product reads and writes matrices of three
 * different shapes.
 *
 * <p>Not part of the API: public only so that {@code org.softmax4j} can reach it.
 */
public final class Disjoint {
    private Disjoint() {}

    /**
     * Checks that the whole of {@code out} and the whole of {@code in} share no byte; an empty
     * segment overlaps nothing.
     *
     * @throws IllegalArgumentException if they do
     */
    public static void require(String outName, MemorySegment out, String inName, MemorySegment in) {
        if (out.byteSize() != 0 && in.byteSize() != 0 && out.asOverlappingSlice(in).isPresent()) {
            throw new IllegalArgumentException(outName + " overlaps " + inName + ", which it must not");
        }
    }
}
