package org.softmax4j.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.ToDoubleFunction;
import org.softmax4j.cli.BenchCommand.BenchShape;
import org.softmax4j.cli.BenchCommand.Result;

/**
 * The chart of a {@code bench} run, as hand-written SVG: throughput (GB/s) against row length
 * (log scale) for each variant, with the measured bandwidth limit as a dashed line. Four panels:
 * forward and backward, for single rows (latency-bound) and for many rows.
 */
final class BenchChart {
    private static final int WIDTH = 1120;
    private static final int PANEL_W = 440;
    private static final int PANEL_H = 250;
    private static final int LEFT = 90;
    private static final int TOP = 90;
    private static final int GAP_X = 110;
    private static final int GAP_Y = 110;
    private static final String[] PALETTE = {
        "#1f77b4", "#2ca02c", "#9467bd", "#d62728", "#ff7f0e", "#8c564b", "#17becf", "#e377c2"
    };

    private BenchChart() {}

    static String svg(List<Result> results, String machine) {
        Map<String, String> colors = new LinkedHashMap<>();
        for (Result r : results) {
            if (!r.variant().startsWith("copy")) {
                colors.putIfAbsent(r.variant(), PALETTE[colors.size() % PALETTE.length]);
            }
        }
        int height = TOP + 2 * PANEL_H + GAP_Y + 150;
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\""
                + " viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\">%n",
                WIDTH, height, WIDTH, height));
        s.append(String.format("<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", WIDTH, height));
        text(s, WIDTH / 2.0, 28, "middle", 18, "bold", "Softmax4J log-softmax throughput against row length");
        text(s, WIDTH / 2.0, 50, "middle", 12, "normal", machine);

        Predicate<BenchShape> oneRow = shape -> shape.rows() == 1;
        Predicate<BenchShape> manyRows = shape -> shape.rows() > 1;
        ToDoubleFunction<Result> forward = r -> 8.0 * r.shape().elements() / r.forwardNanos();
        ToDoubleFunction<Result> backward = r -> 12.0 * r.shape().elements() / r.backwardNanos();
        panel(s, results, colors, 0, 0, "forward, one row", oneRow, forward, "copy");
        panel(s, results, colors, 1, 0, "forward, many rows", manyRows, forward, "copy");
        panel(s, results, colors, 0, 1, "backward, one row", oneRow, backward, "read-2-write-1");
        panel(s, results, colors, 1, 1, "backward, many rows", manyRows, backward, "read-2-write-1");
        legend(s, colors, TOP + 2 * PANEL_H + GAP_Y + 82);
        s.append("</svg>\n");
        return s.toString();
    }

    private static void panel(StringBuilder s, List<Result> results, Map<String, String> colors, int column, int row,
            String title, Predicate<BenchShape> shapes, ToDoubleFunction<Result> gbps, String limitName) {
        double x0 = LEFT + column * (PANEL_W + GAP_X);
        double y0 = TOP + row * (PANEL_H + GAP_Y);
        List<Result> shown = results.stream().filter(r -> shapes.test(r.shape())).toList();
        if (shown.isEmpty()) {
            return;
        }
        double minLog = shown.stream().mapToDouble(r -> Math.log10(r.shape().cols())).min().orElseThrow() - 0.3;
        double maxLog = shown.stream().mapToDouble(r -> Math.log10(r.shape().cols())).max().orElseThrow() + 0.3;
        double top = niceCeiling(shown.stream().mapToDouble(gbps).max().orElseThrow());
        ToDoubleFunction<Double> px = cols -> x0 + (Math.log10(cols) - minLog) / (maxLog - minLog) * PANEL_W;
        ToDoubleFunction<Double> py = v -> y0 + PANEL_H - v / top * PANEL_H;

        text(s, x0 + PANEL_W / 2.0, y0 - 12, "middle", 14, "bold", title);
        s.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%d\" fill=\"none\""
                + " stroke=\"#444\"/>%n", x0, y0, PANEL_W, PANEL_H));
        double step = niceStep(top);
        for (double v = 0; v <= top + step / 2; v += step) {
            double y = py.applyAsDouble(v);
            line(s, x0, y, x0 + PANEL_W, y, "#ddd", 1, null);
            text(s, x0 - 6, y + 4, "end", 11, "normal", trim(v));
        }
        for (int e = (int) Math.ceil(minLog); e <= Math.floor(maxLog); e++) {
            double x = px.applyAsDouble(Math.pow(10, e));
            line(s, x, y0, x, y0 + PANEL_H, "#eee", 1, null);
            text(s, x, y0 + PANEL_H + 16, "middle", 11, "normal", e >= 6 ? "1e" + e : trim(Math.pow(10, e)));
        }
        text(s, x0 + PANEL_W / 2.0, y0 + PANEL_H + 50, "middle", 12, "normal", "row length (columns, log scale)");
        s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\""
                + " transform=\"rotate(-90 %.1f %.1f)\">GB/s</text>%n",
                x0 - 50, y0 + PANEL_H / 2.0, x0 - 50, y0 + PANEL_H / 2.0));

        // Shape names under the axis, at their row length.
        List<BenchShape> seen = new ArrayList<>();
        for (Result r : shown) {
            if (!seen.contains(r.shape())) {
                seen.add(r.shape());
                text(s, px.applyAsDouble((double) r.shape().cols()), y0 + PANEL_H + 30, "middle", 9, "normal",
                        r.shape().name() + (r.shape().outOfCache() ? "" : "*"));
            }
        }

        Map<String, List<Result>> series = new LinkedHashMap<>();
        for (Result r : shown) {
            series.computeIfAbsent(r.variant(), v -> new ArrayList<>()).add(r);
        }
        for (Map.Entry<String, List<Result>> e : series.entrySet()) {
            List<Result> points = new ArrayList<>(e.getValue());
            points.sort((a, b) -> Long.compare(a.shape().cols(), b.shape().cols()));
            boolean limit = e.getKey().startsWith("copy");
            String color = limit ? (e.getKey().equals(BenchCommand.COPY) ? "#000" : "#888")
                    : colors.get(e.getKey());
            String dash = limit ? (e.getKey().equals(BenchCommand.COPY) ? "7,4" : "2,3") : null;
            StringBuilder path = new StringBuilder();
            for (Result r : points) {
                path.append(path.isEmpty() ? "M" : " L").append(String.format(Locale.ROOT, "%.1f,%.1f",
                        px.applyAsDouble((double) r.shape().cols()), py.applyAsDouble(gbps.applyAsDouble(r))));
            }
            s.append(String.format("<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"%s\"%s/>%n", path, color,
                    limit ? "1.5" : "2", dash == null ? "" : " stroke-dasharray=\"" + dash + "\""));
            for (Result r : points) {
                s.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%s\" fill=\"%s\"/>%n",
                        px.applyAsDouble((double) r.shape().cols()), py.applyAsDouble(gbps.applyAsDouble(r)),
                        limit ? "2" : "3.5", color));
            }
        }
        text(s, x0 + PANEL_W - 6, y0 + 16, "end", 11, "normal", "dashed: " + limitName + " of the same bytes");
    }

    private static void legend(StringBuilder s, Map<String, String> colors, double y) {
        List<String[]> entries = new ArrayList<>();
        for (Map.Entry<String, String> e : colors.entrySet()) {
            entries.add(new String[] {e.getKey(), e.getValue(), null});
        }
        entries.add(new String[] {"limit, 1 thread (copy | read-2-write-1)", "#000", "7,4"});
        entries.add(new String[] {"limit, several threads", "#888", "2,3"});
        double x = LEFT;
        for (String[] entry : entries) {
            double width = 54 + entry[0].length() * 7.5; // a generous estimate of the text width
            if (x + width > WIDTH - 20) {
                x = LEFT;
                y += 22;
            }
            line(s, x, y, x + 28, y, entry[1], entry[2] == null ? 2.5 : 1.5, entry[2]);
            text(s, x + 34, y + 4, "start", 12, "normal", entry[0]);
            x += width;
        }
        text(s, LEFT, y + 30, "start", 11, "normal",
                "* in cache. api = the public Java entries; java = the pure-Java fallback; others: the native kernel"
                        + " pinned to that instruction set.");
    }

    /** The smallest of 1, 2, 5 x 10^k at least {@code max}, so the axis ends on a round value. */
    static double niceCeiling(double max) {
        if (!(max > 0) || Double.isInfinite(max)) {
            return 1;
        }
        double step = niceStep(max);
        return Math.ceil(max / step) * step;
    }

    private static double niceStep(double max) {
        double raw = max / 5;
        double magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
        double[] steps = {1, 2, 5, 10};
        for (double m : steps) {
            if (m * magnitude >= raw) {
                return m * magnitude;
            }
        }
        return 10 * magnitude;
    }

    private static String trim(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        return String.format(Locale.ROOT, "%.2g", v);
    }

    private static void line(StringBuilder s, double x1, double y1, double x2, double y2, String color, double width,
            String dash) {
        s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\""
                + " stroke-width=\"%.1f\"%s/>%n", x1, y1, x2, y2, color, width,
                dash == null ? "" : " stroke-dasharray=\"" + dash + "\""));
    }

    private static void text(StringBuilder s, double x, double y, String anchor, int size, String weight, String text) {
        s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\""
                + " font-weight=\"%s\">%s</text>%n", x, y, anchor, size, weight, escape(text)));
    }

    private static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
