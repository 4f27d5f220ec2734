package org.softmax4j.jmh;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Turns JMH CSV results ({@code -rf csv -rff FILE}, several files allowed) into the Markdown table
 * of src/jmh/README.md: per shape and direction, ns per call, elements/ns, GB/s at the bytes the
 * operation must move (8 per element forward, 12 backward), and the time as a multiple of the
 * bandwidth pass of the same run ({@code copy} forward, {@code read2Write1} backward).
 *
 * <pre>{@code java -cp target/classes org.softmax4j.jmh.ResultsTable results-*.csv}</pre>
 */
public final class ResultsTable {
    private ResultsTable() {}

    private record Row(String implementation, String direction, String shape, double nsPerCall, double error) {}

    /** Benchmark class and method -> what the table calls it, in table order. */
    private static final Map<String, String> NAMES = new LinkedHashMap<>();

    static {
        NAMES.put("ApiArrayBench", "Softmax4J, float[]");
        NAMES.put("ApiSegmentBench", "Softmax4J, MemorySegment");
        NAMES.put("MisalignedSegmentBench", "Softmax4J, MemorySegment 16 B past 64");
        NAMES.put("ApiTensorBench", "Softmax4J LogSoftmax op, Tensor");
        NAMES.put("VectorApiBench", "Java Vector API");
        NAMES.put("JavaLoopBench", "plain Java loop");
        NAMES.put("OnnxRuntimeBench", "ONNX Runtime Java");
        NAMES.put("BandwidthBench.copy", "copy, same bytes (limit)");
        NAMES.put("BandwidthBench.read2Write1", "read 2, write 1, same bytes (limit)");
    }

    public static void main(String[] args) throws IOException {
        if (args.length == 0) {
            System.err.println("usage: ResultsTable results.csv...");
            System.exit(2);
        }
        List<Row> rows = new ArrayList<>();
        for (String file : args) {
            rows.addAll(read(Path.of(file)));
        }
        System.out.print(table(rows));
    }

    private static List<Row> read(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file);
        List<String> header = fields(lines.get(0));
        int benchmark = header.indexOf("Benchmark");
        int score = header.indexOf("Score");
        int error = header.indexOf("Score Error (99.9%)");
        int unit = header.indexOf("Unit");
        int shape = header.indexOf("Param: shape");
        List<Row> rows = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            if (line.isBlank()) {
                continue;
            }
            List<String> f = fields(line);
            if (!f.get(unit).equals("ns/op")) {
                throw new IllegalArgumentException(file + ": expected ns/op (average time), got " + f.get(unit));
            }
            String name = f.get(benchmark);
            String[] parts = name.split("\\.");
            String cls = parts[parts.length - 2];
            String method = parts[parts.length - 1];
            String implementation = cls.equals("BandwidthBench") ? cls + "." + method : cls;
            String direction = switch (method) {
                case "forward", "copy" -> "forward";
                case "backward", "read2Write1" -> "backward";
                default -> throw new IllegalArgumentException(file + ": unknown benchmark " + name);
            };
            rows.add(new Row(implementation, direction, f.get(shape),
                    Double.parseDouble(f.get(score)), parseOrNaN(f.get(error))));
        }
        return rows;
    }

    private static String table(List<Row> rows) {
        StringBuilder out = new StringBuilder();
        out.append("| shape | direction | implementation | ns/call | elements/ns | GB/s | x limit |\n");
        out.append("|---|---|---|---:|---:|---:|---:|\n");
        List<String> shapes = rows.stream().map(Row::shape).distinct()
                .sorted((a, b) -> Long.compare(numel(a), numel(b)) != 0
                        ? Long.compare(numel(a), numel(b)) : a.compareTo(b))
                .toList();
        for (String shape : shapes) {
            for (String direction : List.of("forward", "backward")) {
                String limitName = direction.equals("forward") ? "BandwidthBench.copy" : "BandwidthBench.read2Write1";
                double limit = rows.stream()
                        .filter(r -> r.shape.equals(shape) && r.implementation.equals(limitName))
                        .mapToDouble(Row::nsPerCall).findFirst().orElse(Double.NaN);
                int bytesPerElement = direction.equals("forward") ? 8 : 12;
                for (String implementation : NAMES.keySet()) {
                    for (Row r : rows) {
                        if (r.shape.equals(shape) && r.direction.equals(direction) && r.implementation.equals(implementation)) {
                            long n = numel(shape);
                            String ratio = Double.isNaN(limit) ? "-" : String.format(Locale.ROOT, "%.2f", r.nsPerCall / limit);
                            out.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %.2f | %.1f | %s |%n",
                                    shape, direction, NAMES.get(implementation), nanos(r.nsPerCall),
                                    n / r.nsPerCall, n * bytesPerElement / r.nsPerCall, ratio));
                        }
                    }
                }
            }
        }
        return out.toString();
    }

    private static String nanos(double ns) {
        return ns >= 100 ? String.format(Locale.ROOT, "%,.0f", ns) : String.format(Locale.ROOT, "%.1f", ns);
    }

    private static long numel(String shape) {
        RowShape s = RowShape.parse(shape);
        return (long) s.rows() * s.cols();
    }

    private static double parseOrNaN(String text) {
        try {
            return Double.parseDouble(text);
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }

    /** A CSV line as JMH writes it: commas between fields, none inside, some fields quoted. */
    private static List<String> fields(String line) {
        List<String> fields = new ArrayList<>();
        for (String f : line.split(",", -1)) {
            f = f.strip();
            if (f.length() >= 2 && f.startsWith("\"") && f.endsWith("\"")) {
                f = f.substring(1, f.length() - 1);
            }
            fields.add(f);
        }
        return fields;
    }
}
