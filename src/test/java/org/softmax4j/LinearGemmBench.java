package org.softmax4j;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import org.softmax4j.internal.OpenBlasBindings;

/**
 * A GFLOP/s harness for the OpenBLAS behind {@link Linear}, run by hand (it is not a test):
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp target/classes:target/test-classes:$OPENBLAS_JAR \
 *     [-Dsoftmax4j.openblas.coretype=openblas|SkylakeX|Haswell] [-Dsoftmax4j.openblas.threads=N] \
 *     org.softmax4j.LinearGemmBench [size] [seconds]
 * </pre>
 *
 * It times {@code cblas_sgemm} on square {@code size}³ products (default 1024), then one Linear
 * forward and backward on a batch of {@code size} rows, and prints the best of several runs.
 */
public final class LinearGemmBench {
    private LinearGemmBench() {}

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1024;
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 3;
        System.out.println(Linear.blasDescription());
        try (Arena arena = Arena.ofConfined()) {
            SplittableRandom random = new SplittableRandom(1);
            Linear layer = new Linear(arena, n, n, random);
            Tensor x = Tensor.allocate(arena, n, n);
            Tensor y = Tensor.allocate(arena, n, n);
            Tensor dx = Tensor.allocate(arena, n, n);
            for (long i = 0; i < x.numel(); i++) {
                x.segment().setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, (float) random.nextDouble(-1, 1));
            }
            double flops = 2.0 * n * n * n;
            double sgemm = best(seconds, () -> OpenBlasBindings.sgemm(false, true, n, n, n, 1f, x.segment(), n,
                    layer.weight().segment(), n, 0f, y.segment(), n));
            System.out.printf("sgemm %d^3 (x * W^T)       %7.1f GFLOP/s  (best %.3f ms)%n", n, flops / sgemm / 1e9, sgemm * 1e3);
            double forward = best(seconds, () -> layer.forward(x, y));
            System.out.printf("Linear.forward  [%d, %d]  %7.1f GFLOP/s  (best %.3f ms)%n", n, n, flops / forward / 1e9, forward * 1e3);
            double backward = best(seconds, () -> layer.backward(y, dx));
            System.out.printf("Linear.backward [%d, %d]  %7.1f GFLOP/s  (best %.3f ms, two products)%n",
                    n, n, 2 * flops / backward / 1e9, backward * 1e3);
        }
    }

    /** The best time of one call, in seconds, over {@code seconds} of repeated calls after a warm-up. */
    private static double best(double seconds, Runnable call) {
        for (int i = 0; i < 3; i++) {
            call.run();
        }
        double best = Double.MAX_VALUE;
        long end = System.nanoTime() + (long) (seconds * 1e9);
        int runs = 0;
        while (System.nanoTime() < end || runs < 5) {
            long start = System.nanoTime();
            call.run();
            best = Math.min(best, (System.nanoTime() - start) / 1e9);
            runs++;
        }
        return best;
    }
}
