package org.softmax4j.cli;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Stroke;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.DoubleUnaryOperator;
import javax.imageio.ImageIO;

/**
 * The training curves as a PNG: on the left the training loss per epoch (log scale: it falls
 * by two orders of magnitude, which a linear axis would flatten into an L), on the right the
 * test accuracy per epoch with the 95% bar the demo must clear. One colour per model, a legend
 * in each panel.
 */
final class TrainChart {
    static final int WIDTH = 1100;
    static final int HEIGHT = 460;
    private static final Color[] COLOURS = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c)};
    private static final int PAD_LEFT = 70;
    private static final int PAD_RIGHT = 20;
    private static final int PAD_TOP = 60;
    private static final int PAD_BOTTOM = 55;

    /** A value on an axis, in the units of the series, and its label. */
    record Tick(double value, String label) {}

    private TrainChart() {}

    static void write(List<Trainer.History> histories, String title, Path png) throws IOException {
        if (png.toAbsolutePath().getParent() != null) {
            Files.createDirectories(png.toAbsolutePath().getParent());
        }
        if (!ImageIO.write(draw(histories, title), "png", png.toFile())) {
            throw new IOException("no PNG writer in this JDK");
        }
    }

    static BufferedImage draw(List<Trainer.History> histories, String title) {
        // No display is needed, nor wanted: without this, AWT may look for an X server.
        System.setProperty("java.awt.headless", "true");
        BufferedImage image = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, WIDTH, HEIGHT);
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
            g.drawString(title, PAD_LEFT, 24);

            int epochs = histories.stream().mapToInt(h -> h.trainLoss().length).max().orElse(1);
            int panelWidth = WIDTH / 2;

            double minLoss = Double.POSITIVE_INFINITY;
            double maxLoss = 0;
            double minAccuracy = 1;
            for (Trainer.History h : histories) {
                for (double loss : h.trainLoss()) {
                    minLoss = Math.min(minLoss, loss);
                    maxLoss = Math.max(maxLoss, loss);
                }
                for (double accuracy : h.testAccuracy()) {
                    minAccuracy = Math.min(minAccuracy, accuracy);
                }
            }
            double lossLow = Math.pow(10, Math.floor(Math.log10(Math.max(minLoss, 1e-6))));
            double lossHigh = Math.pow(10, Math.ceil(Math.log10(Math.max(maxLoss, lossLow * 10))));
            if (lossHigh <= lossLow) {
                lossHigh = lossLow * 10;
            }
            int ll = (int) Math.round(Math.log10(lossLow));
            int lh = (int) Math.round(Math.log10(lossHigh));
            List<Tick> lossTicks = new ArrayList<>();
            for (int k = ll; k <= lh; k++) {
                double v = Math.pow(10, k);
                lossTicks.add(new Tick(v, BigDecimal.valueOf(v).stripTrailingZeros().toPlainString()));
            }
            panel(g, 0, panelWidth, "training loss (cross-entropy, log scale)", histories, epochs,
                    Trainer.History::trainLoss, v -> (Math.log10(Math.max(v, lossLow)) - ll) / (lh - ll),
                    lossTicks, Double.NaN, true);

            // Percent axis from a multiple of 5 below the lowest accuracy (at most 90) to 100.
            double low = Math.min(90, 5 * Math.floor(100 * minAccuracy / 5));
            double step = 100 - low > 40 ? 10 : 5;
            List<Tick> accuracyTicks = new ArrayList<>();
            for (double v = low; v <= 100.0001; v += step) {
                accuracyTicks.add(new Tick(v / 100, String.format(Locale.ROOT, "%.0f%%", v)));
            }
            panel(g, panelWidth, panelWidth, "test accuracy", histories, epochs,
                    Trainer.History::testAccuracy, v -> (100 * v - low) / (100 - low), accuracyTicks,
                    TrainCommand.REQUIRED_ACCURACY, false);
        } finally {
            g.dispose();
        }
        return image;
    }

    /** How a model's series is read from its history. */
    private interface Series {
        double[] of(Trainer.History history);
    }

    /** One plot: axes with tick labels, a grid, one line per model, a legend, and {@code bar} (NaN for none) dashed. */
    private static void panel(Graphics2D g, int left, int width, String title, List<Trainer.History> histories,
            int epochs, Series series, DoubleUnaryOperator scale, List<Tick> yTicks, double bar,
            boolean legendOnTop) {
        int x0 = left + PAD_LEFT;
        int x1 = left + width - PAD_RIGHT;
        int y0 = HEIGHT - PAD_BOTTOM;
        int y1 = PAD_TOP;
        Font small = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        g.setColor(Color.BLACK);
        g.drawString(title, x0, y1 - 12);
        g.setFont(small);
        FontMetrics metrics = g.getFontMetrics();

        // Grid and y labels.
        for (Tick tick : yTicks) {
            int y = (int) Math.round(y0 - scale.applyAsDouble(tick.value()) * (y0 - y1));
            g.setColor(new Color(0xe6e6e6));
            g.drawLine(x0, y, x1, y);
            g.setColor(Color.BLACK);
            g.drawLine(x0 - 4, y, x0, y);
            g.drawString(tick.label(), x0 - 8 - metrics.stringWidth(tick.label()), y + metrics.getAscent() / 2 - 1);
        }
        // x ticks: about eight, on round epoch numbers.
        int xStep = niceStep(epochs / 8.0);
        for (int e = 0; e <= epochs; e += xStep) {
            int x = xOf(e, epochs, x0, x1);
            g.drawLine(x, y0, x, y0 + 4);
            String label = Integer.toString(e);
            g.drawString(label, x - metrics.stringWidth(label) / 2, y0 + 6 + metrics.getAscent());
        }
        g.drawString("epoch", (x0 + x1) / 2 - metrics.stringWidth("epoch") / 2, y0 + 40);
        g.drawRect(x0, y1, x1 - x0, y0 - y1);

        if (!Double.isNaN(bar)) {
            int y = (int) Math.round(y0 - scale.applyAsDouble(bar) * (y0 - y1));
            Stroke old = g.getStroke();
            g.setStroke(new BasicStroke(1.2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10, new float[] {6, 4}, 0));
            g.setColor(new Color(0xd62728));
            g.drawLine(x0, y, x1, y);
            g.setStroke(old);
            g.drawString("95% (required)", x1 - 6 - metrics.stringWidth("95% (required)"), y - 4);
        }

        Stroke old = g.getStroke();
        g.setStroke(new BasicStroke(2f));
        for (int m = 0; m < histories.size(); m++) {
            double[] values = series.of(histories.get(m));
            Path2D.Double path = new Path2D.Double();
            for (int e = 0; e < values.length; e++) {
                double x = xOf(e + 1, epochs, x0, x1);
                double y = y0 - clamp(scale.applyAsDouble(values[e])) * (y0 - y1);
                if (e == 0) {
                    path.moveTo(x, y);
                } else {
                    path.lineTo(x, y);
                }
            }
            g.setColor(COLOURS[m % COLOURS.length]);
            g.draw(path);
        }
        g.setStroke(old);

        // Legend at the right, where the curves are not: above a falling loss, below a rising accuracy.
        int lx = x1 - 120;
        int ly = legendOnTop ? y1 + 18 : y0 - 20 * histories.size() + 4;
        for (int m = 0; m < histories.size(); m++) {
            g.setColor(COLOURS[m % COLOURS.length]);
            g.fillRect(lx, ly + 20 * m - 8, 22, 4);
            g.setColor(Color.BLACK);
            g.drawString(histories.get(m).model(), lx + 30, ly + 20 * m - 2);
        }
    }

    private static int xOf(double epoch, int epochs, int x0, int x1) {
        return (int) Math.round(x0 + epoch / epochs * (x1 - x0));
    }

    private static double clamp(double fraction) {
        return Math.max(0, Math.min(1, fraction));
    }

    /** The smallest of 1, 2, 5, 10, 20, 50, ... at least {@code raw}. */
    static int niceStep(double raw) {
        int step = 1;
        while (true) {
            for (int m : new int[] {1, 2, 5}) {
                if (step * m >= raw) {
                    return step * m;
                }
            }
            step *= 10;
        }
    }
}
