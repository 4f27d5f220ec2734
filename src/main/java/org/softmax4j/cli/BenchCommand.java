package org.softmax4j.cli;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.softmax4j.Parallelism;
import org.softmax4j.Softmax4j;
import org.softmax4j.internal.Backend;
import org.softmax4j.internal.JavaBackend;
import org.softmax4j.internal.NativeBackend;

/**
 * {@code bench}: a quick benchmark (well under a minute) of every kernel this machine runs, the
 * public Java API and the pure-Java baseline, forward and backward, on shapes in and out of cache,
 * each against the bandwidth limit measured in the same run on buffers of the same size: a copy
 * of the same bytes for forward (read x, write y: 8 bytes per element), a read-2-write-1 pass for
 * backward (read gy and y, write gx: 12 bytes per element). Prints a table and writes an SVG chart.
 *
 * <p>Every buffer is allocated and first touched once, before any timing, and reused by every
 * shape: touching fresh memory costs far more than the kernels.
 */
final class BenchCommand {
    /** A benchmarked shape: out of cache when its buffers are larger than the last-level cache. */
    record BenchShape(long rows, long cols, boolean outOfCache) {
        long elements() {
            return rows * cols;
        }

        String name() {
            return rows + "x" + cols;
        }
    }

    /**
     * Median times per call of one variant on one shape, and its ratios to the limit (time / time of
     * the limit: medians over rounds that timed both).
     */
    record Result(BenchShape shape, String variant, double forwardNanos, double backwardNanos,
            double forwardRatio, double backwardRatio) {}

    static final List<BenchShape> SHAPES = List.of(
            new BenchShape(1, 10, false),
            new BenchShape(1, 1000, false),
            new BenchShape(64, 1000, false),
            new BenchShape(1, 32000, false),
            new BenchShape(65536, 128, true),
            new BenchShape(4096, 4096, true),
            new BenchShape(256, 32000, true),
            new BenchShape(32, 128256, true));

    static final String COPY = "copy | r2w1";
    static final String COPY_PARALLEL = "copy | r2w1 x";

    private BenchCommand() {}

    static int run(List<String> args, PrintStream out, PrintStream err) {
        Path svg = Path.of("target", "softmax4j-bench.svg");
        int threads = Math.min(2, Runtime.getRuntime().availableProcessors());
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (arg.equals("--svg") && i + 1 < args.size()) {
                svg = Path.of(args.get(++i));
            } else if (arg.equals("--threads") && i + 1 < args.size()) {
                try {
                    threads = Parallelism.threads(Integer.parseInt(args.get(++i))).threads();
                } catch (IllegalArgumentException e) {
                    err.println("softmax4j bench: --threads: " + e.getMessage());
                    return 2;
                }
            } else {
                err.println("softmax4j bench: unknown option '" + arg + "'");
                err.println("usage: bench [--svg FILE] [--threads N]");
                return 2;
            }
        }

        String machine;
        try {
            machine = machineLine();
        } catch (IllegalStateException e) {
            err.println("softmax4j bench: no backend: " + e.getMessage());
            return 1;
        }
        out.println(machine);
        long start = System.nanoTime();
        List<Result> results = measure(threads, err);
        out.println();
        printTable(out, results, threads);
        List<BenchFamily.Row> family = BenchFamily.measure(err);
        out.println();
        BenchFamily.print(out, family);
        out.printf(Locale.ROOT, "%ntook %.0f s%n", (System.nanoTime() - start) / 1e9);
        try {
            if (svg.getParent() != null) {
                Files.createDirectories(svg.getParent());
            }
            Files.writeString(svg, BenchChart.svg(results, machine));
            out.println("chart: " + svg);
        } catch (IOException e) {
            err.println("softmax4j bench: cannot write " + svg + ": " + e.getMessage());
            return 1;
        }
        return 0;
    }

    /** CPU model, processors, JDK, OS and the kernel in use. */
    static String machineLine() {
        String cpu = "unknown CPU";
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    cpu = line.substring(line.indexOf(':') + 1).trim();
                    break;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: the model stays unknown
        }
        return String.format(Locale.ROOT, "machine: %s, %d processors, %s %s, JDK %s (%s), kernel %s",
                cpu, Runtime.getRuntime().availableProcessors(), System.getProperty("os.name"),
                System.getProperty("os.version"), Runtime.version(), System.getProperty("java.vendor"),
                Softmax4j.isa());
    }

    private static List<Result> measure(int threads, PrintStream err) {
        long max = SHAPES.stream().mapToLong(BenchShape::elements).max().orElseThrow();
        List<Result> results = new ArrayList<>();
        ExecutorService helpers = Executors.newFixedThreadPool(Math.max(1, threads - 1), task -> {
            Thread thread = new Thread(task, "softmax4j-bench");
            thread.setDaemon(true);
            return thread;
        });
        // The global arena: usable from the helper threads, and, like a confined arena, without
        // the atomic update per segment and call of a shared one (a few nanoseconds on 1x10).
        // Its memory is freed when the command exits.
        Arena arena = Arena.global();
        try {
            err.printf("allocating and touching %d MiB of buffers...%n", (7 * 4 * max) >> 20);
            Buffers buffers = new Buffers(arena, max);
            List<String> variants = variants(threads);
            // A first pass over the small shapes, thrown away: right after start-up the JIT
            // compiles in the background, on the cores the first timings would run on.
            err.print("warming up");
            for (BenchShape shape : SHAPES.subList(0, 2)) {
                measureShape(shape, buffers, variants, threads, helpers, new PrintStream(OutputStream.nullOutputStream()));
                err.print(".");
            }
            err.println();
            for (int s = 0; s < SHAPES.size(); s++) {
                BenchShape shape = SHAPES.get(s);
                long t0 = System.nanoTime();
                err.printf("[%d/%d] %-10s", s + 1, SHAPES.size(), shape.name());
                results.addAll(measureShape(shape, buffers, variants, threads, helpers, err));
                err.printf(Locale.ROOT, "  %.1f s%n", (System.nanoTime() - t0) / 1e9);
            }
        } finally {
            helpers.shutdownNow();
        }
        return results;
    }

    /** The names of what is timed: each native variant, the API (also on several threads), the Java baseline. */
    private static List<String> variants(int threads) {
        List<String> variants = new ArrayList<>();
        List<String> isas = new ArrayList<>(Softmax4j.supportedIsas());
        java.util.Collections.reverse(isas); // fastest first
        variants.addAll(isas);
        variants.add("api");
        if (threads > 1) {
            variants.add("api x" + threads);
        }
        variants.add("java");
        return variants;
    }

    private static List<Result> measureShape(BenchShape shape, Buffers b, List<String> variants, int threads,
            ExecutorService helpers, PrintStream err) {
        long rows = shape.rows();
        long cols = shape.cols();
        long bytes = shape.elements() * Float.BYTES;
        int n = Math.toIntExact(shape.elements());
        MemorySegment x = b.x.asSlice(0, bytes);
        MemorySegment y = b.y.asSlice(0, bytes);
        MemorySegment gy = b.gy.asSlice(0, bytes);
        MemorySegment gx = b.gx.asSlice(0, bytes);
        Softmax4j.logSoftmaxForward(x, y, rows, cols); // backward reads a real forward output

        // Columns: the limits first, then the variants; forward and backward each timed in rounds.
        List<String> names = new ArrayList<>();
        List<BenchTimer.Calls> forwards = new ArrayList<>();
        List<BenchTimer.Calls> backwards = new ArrayList<>();
        names.add(COPY);
        forwards.add(k -> {
            for (int i = 0; i < k; i++) {
                MemorySegment.copy(x, 0, b.copy, 0, bytes);
            }
        });
        backwards.add(k -> {
            for (int i = 0; i < k; i++) {
                readTwoWriteOne(b.a, b.b, b.c, 0, n);
            }
        });

        Parallelism parallel = threads > 1 ? Parallelism.threads(threads) : Parallelism.single();
        int slices = parallel.threadsFor(rows, cols);
        int parallelLimit = 0; // the column the parallel API is compared with
        if (slices > 1) {
            parallelLimit = names.size();
            names.add(COPY_PARALLEL + slices);
            forwards.add(k -> {
                for (int i = 0; i < k; i++) {
                    split(helpers, slices, n, (from, to) ->
                            MemorySegment.copy(x, 4L * from, b.copy, 4L * from, 4L * (to - from)));
                }
            });
            backwards.add(k -> {
                for (int i = 0; i < k; i++) {
                    split(helpers, slices, n, (from, to) -> readTwoWriteOne(b.a, b.b, b.c, from, to));
                }
            });
        }

        for (String variant : variants) {
            names.add(variant);
            if (variant.equals("api")) {
                forwards.add(k -> {
                    for (int i = 0; i < k; i++) {
                        Softmax4j.logSoftmaxForward(x, y, rows, cols);
                    }
                });
                backwards.add(k -> {
                    for (int i = 0; i < k; i++) {
                        Softmax4j.logSoftmaxBackward(gy, y, gx, rows, cols);
                    }
                });
            } else if (variant.startsWith("api x")) {
                forwards.add(k -> {
                    for (int i = 0; i < k; i++) {
                        Softmax4j.logSoftmaxForward(x, y, rows, cols, parallel);
                    }
                });
                backwards.add(k -> {
                    for (int i = 0; i < k; i++) {
                        Softmax4j.logSoftmaxBackward(gy, y, gx, rows, cols, parallel);
                    }
                });
            } else {
                Backend backend = variant.equals("java") ? JavaBackend.INSTANCE : NativeBackend.variant(variant);
                forwards.add(k -> {
                    for (int i = 0; i < k; i++) {
                        backend.forward(x, y, rows, cols);
                    }
                });
                backwards.add(k -> {
                    for (int i = 0; i < k; i++) {
                        backend.backward(gy, y, gx, rows, cols);
                    }
                });
            }
        }
        double[][] forward = BenchTimer.rounds(forwards);
        err.print(" forward");
        double[][] backward = BenchTimer.rounds(backwards);
        err.print(" backward");

        List<Result> results = new ArrayList<>();
        for (int k = 0; k < names.size(); k++) {
            int limit = names.get(k).startsWith("api x") || k == parallelLimit ? parallelLimit : 0;
            results.add(new Result(shape, names.get(k), BenchTimer.median(forward[k]), BenchTimer.median(backward[k]),
                    BenchTimer.medianRatio(forward[k], forward[limit]),
                    BenchTimer.medianRatio(backward[k], backward[limit])));
        }
        return results;
    }

    /** {@code c[i] = a[i] + b[i]}: a loop C2 vectorises, reading 8 bytes and writing 4 per element. */
    static void readTwoWriteOne(float[] a, float[] b, float[] c, int from, int to) {
        for (int i = from; i < to; i++) {
            c[i] = a[i] + b[i];
        }
    }

    @FunctionalInterface
    private interface Range {
        void run(int from, int to);
    }

    /** Runs {@code [0, n)} in {@code slices} contiguous parts: the first on this thread, the others on helpers. */
    private static void split(ExecutorService helpers, int slices, int n, Range range) {
        List<Future<?>> others = new ArrayList<>();
        for (int i = 1; i < slices; i++) {
            int from = (int) ((long) n * i / slices);
            int to = (int) ((long) n * (i + 1) / slices);
            others.add(helpers.submit(() -> range.run(from, to)));
        }
        range.run(0, n / slices);
        for (Future<?> other : others) {
            try {
                other.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            } catch (ExecutionException e) {
                throw new IllegalStateException(e.getCause());
            }
        }
    }

    /** The buffers, as large as the largest shape, filled (so first touched) before any timing. */
    private static final class Buffers {
        final MemorySegment x;
        final MemorySegment y;
        final MemorySegment gy;
        final MemorySegment gx;
        final MemorySegment copy;
        final float[] a;
        final float[] b;
        final float[] c;

        Buffers(Arena arena, long elements) {
            Random random = new Random(42);
            float[] values = new float[Math.toIntExact(elements)];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) (random.nextGaussian() * 4);
            }
            x = arena.allocate(elements * Float.BYTES, 64);
            x.copyFrom(MemorySegment.ofArray(values));
            gy = arena.allocate(elements * Float.BYTES, 64);
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) random.nextGaussian();
            }
            gy.copyFrom(MemorySegment.ofArray(values));
            y = arena.allocate(elements * Float.BYTES, 64).fill((byte) 0);
            gx = arena.allocate(elements * Float.BYTES, 64).fill((byte) 0);
            copy = arena.allocate(elements * Float.BYTES, 64).fill((byte) 0);
            a = values;
            b = x.toArray(JAVA_FLOAT);
            c = new float[values.length];
            java.util.Arrays.fill(c, 1f);
        }
    }

    private static void printTable(PrintStream out, List<Result> results, int threads) {
        out.println("Median time per call; el/ns = elements per nanosecond; GB/s counts 8 bytes per element forward"
                + " (read x, write y)");
        out.println("and 12 backward (read gy and y, write gx); 'x limit' = time / time of the limit on the same"
                + " shape: a copy");
        out.println("of the same bytes (forward) and a read-2-write-1 pass c[i] = a[i] + b[i] (backward), measured"
                + " in the same rounds" + (threads > 1 ? ", on " + threads + " threads for 'api x" + threads + "'." : "."));
        out.println("Variants: each native kernel pinned (" + String.join(", ", Softmax4j.supportedIsas())
                + "), 'api' = the public Java entries (checks, then the dispatched kernel),");
        out.println("'java' = the pure-Java fallback, the plain-Java baseline.");
        out.println();
        String header = String.format(Locale.ROOT, "%-12s %-14s | %10s %7s %7s %7s | %10s %7s %7s %7s",
                "shape", "variant", "forward", "el/ns", "GB/s", "x limit", "backward", "el/ns", "GB/s", "x limit");
        out.println(header);
        out.println("-".repeat(header.length()));
        BenchShape last = null;
        for (Result r : results) {
            if (last != null && last != r.shape()) {
                out.println();
            }
            String shape = last == r.shape() ? "" : r.shape().name() + (r.shape().outOfCache() ? "" : " *");
            last = r.shape();
            long n = r.shape().elements();
            out.println(String.format(Locale.ROOT, "%-12s %-14s | %10s %7s %7.1f %7.2f | %10s %7s %7.1f %7.2f",
                    shape, r.variant(),
                    time(r.forwardNanos()), perNs(n / r.forwardNanos()), 8.0 * n / r.forwardNanos(),
                    r.forwardRatio(),
                    time(r.backwardNanos()), perNs(n / r.backwardNanos()), 12.0 * n / r.backwardNanos(),
                    r.backwardRatio()));
        }
        out.println("(* in cache)");
    }

    static String time(double nanos) {
        if (nanos < 1e3) {
            return String.format(Locale.ROOT, "%.1f ns", nanos);
        }
        if (nanos < 1e6) {
            return String.format(Locale.ROOT, "%.1f us", nanos / 1e3);
        }
        return String.format(Locale.ROOT, "%.2f ms", nanos / 1e6);
    }

    private static String perNs(double value) {
        return String.format(Locale.ROOT, value < 1 ? "%.3f" : "%.2f", value);
    }
}
