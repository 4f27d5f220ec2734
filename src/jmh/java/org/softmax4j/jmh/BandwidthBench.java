package org.softmax4j.jmh;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;

/**
 * The memory limits the kernels are measured against, on the same segments: {@code copy} moves
 * what forward must (read x, write y: 8 bytes per element), {@code read2Write1} what backward must
 * (read gy and y, write gx: 12 bytes per element).
 */
public class BandwidthBench extends SegmentRows {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    @Benchmark
    public void copy() {
        MemorySegment.copy(x, 0, y, 0, x.byteSize());
    }

    /** {@code gx = gy + y}, vectorised: the cheapest pass with backward's memory traffic. */
    @Benchmark
    public void read2Write1() {
        long n = rows * cols;
        long vectorTo = SPECIES.loopBound(n);
        long step = SPECIES.vectorByteSize();
        long end = vectorTo * Float.BYTES;
        ByteOrder order = ByteOrder.nativeOrder();
        for (long at = 0; at < end; at += step) {
            FloatVector.fromMemorySegment(SPECIES, gy, at, order)
                    .add(FloatVector.fromMemorySegment(SPECIES, y, at, order))
                    .intoMemorySegment(gx, at, order);
        }
        for (long i = vectorTo; i < n; i++) {
            gx.setAtIndex(FLOAT, i, gy.getAtIndex(FLOAT, i) + y.getAtIndex(FLOAT, i));
        }
    }
}
