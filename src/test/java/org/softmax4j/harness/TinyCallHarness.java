package org.softmax4j.harness;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.softmax4j.LogSoftmax;
import org.softmax4j.Softmax4j;
import org.softmax4j.Tensor;

/**
 * Hand-run harness, not a test: the cost of one 1x10 call through each public entry, and the bytes
 * it allocates. Run with the test classpath:
 *
 * <pre>{@code
 * java --enable-native-access=ALL-UNNAMED -cp target/classes:target/test-classes \
 *     org.softmax4j.harness.TinyCallHarness [rows] [cols] [case number]
 * }</pre>
 *
 * Give a case number to time that entry alone in its JVM, as a caller with one call site would
 * see it; without one, every case runs in turn and the later ones share a polluted profile.
 */
public final class TinyCallHarness {
    private static final int CALLS = 1_000_000;
    private static final int ROUNDS = 11;

    private TinyCallHarness() {}

    public static void main(String[] args) {
        int rows = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        int cols = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        int n = rows * cols;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) Math.sin(i);
        }
        float[] y = new float[n];
        float[] gy = x.clone();
        float[] gx = new float[n];
        // -Darena=shared|confined|global|auto: the linker pins a shared arena with an atomic
        // update per segment argument and call, a confined one with a plain counter.
        Arena arena = switch (System.getProperty("arena", "confined")) {
            case "shared" -> Arena.ofShared();
            case "global" -> Arena.global();
            case "auto" -> Arena.ofAuto();
            default -> Arena.ofConfined();
        };
        MemorySegment xs = arena.allocate(4L * n, 64).copyFrom(MemorySegment.ofArray(x));
        MemorySegment ys = arena.allocate(4L * n, 64);
        MemorySegment gys = arena.allocate(4L * n, 64).copyFrom(MemorySegment.ofArray(gy));
        MemorySegment gxs = arena.allocate(4L * n, 64);
        Tensor xt = Tensor.wrap(xs, rows, cols);
        Tensor yt = Tensor.wrap(ys, rows, cols);
        Tensor gyt = Tensor.wrap(gys, rows, cols);
        Tensor gxt = Tensor.wrap(gxs, rows, cols);
        LogSoftmax op = new LogSoftmax();
        Tensor xa = Tensor.wrap(x, rows, cols);
        Tensor ya = Tensor.wrap(y, rows, cols);
        Tensor gya = Tensor.wrap(gy, rows, cols);
        Tensor gxa = Tensor.wrap(gx, rows, cols);
        LogSoftmax opa = new LogSoftmax();
        op.forward(xt, yt);
        opa.forward(xa, ya);

        Map<String, Runnable> cases = new LinkedHashMap<>();
        cases.put("static forward float[]", () -> Softmax4j.logSoftmaxForward(x, y, rows, cols));
        cases.put("static backward float[]", () -> Softmax4j.logSoftmaxBackward(gy, y, gx, rows, cols));
        cases.put("static forward segment", () -> Softmax4j.logSoftmaxForward(xs, ys, rows, cols));
        cases.put("static backward segment", () -> Softmax4j.logSoftmaxBackward(gys, ys, gxs, rows, cols));
        cases.put("LogSoftmax forward native", () -> op.forward(xt, yt));
        cases.put("LogSoftmax backward native", () -> op.backward(gyt, gxt));
        cases.put("LogSoftmax forward heap", () -> opa.forward(xa, ya));
        cases.put("LogSoftmax backward heap", () -> opa.backward(gya, gxa));

        if (args.length <= 2) {
            System.out.printf("backend %s/%s, shape %dx%d, %d calls x %d rounds%n",
                    Softmax4j.backend(), Softmax4j.isa(), rows, cols, CALLS, ROUNDS);
        }
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        int only = args.length > 2 ? Integer.parseInt(args[2]) : -1;
        int index = 0;
        for (var e : cases.entrySet()) {
            if (only >= 0 && index++ != only) {
                continue;
            }
            Runnable call = e.getValue();
            double[] ns = new double[ROUNDS];
            for (int r = 0; r < ROUNDS; r++) {
                ns[r] = time(call) / (double) CALLS;
            }
            long before = threads.getCurrentThreadAllocatedBytes();
            time(call);
            double bytes = (threads.getCurrentThreadAllocatedBytes() - before) / (double) CALLS;
            Arrays.sort(ns);
            System.out.printf("%-28s median %6.1f ns  min %6.1f ns  alloc %6.1f B/call%n",
                    e.getKey(), ns[ROUNDS / 2], ns[0], bytes);
        }
    }

    /** Its own method, compiled whole rather than replaced on the stack mid-loop. */
    private static long time(Runnable call) {
        long t0 = System.nanoTime();
        for (int i = 0; i < CALLS; i++) {
            call.run();
        }
        return System.nanoTime() - t0;
    }
}
