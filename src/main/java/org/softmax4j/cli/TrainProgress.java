package org.softmax4j.cli;

import java.io.Console;
import java.io.PrintStream;
import java.util.Locale;

/**
 * Shows training progress on stderr: on a terminal, one bar per epoch redrawn in place as batches
 * finish and then kept with the epoch's loss and accuracy; elsewhere (a log file, Maven, CI)
 * only the finished line of each epoch, since a redrawn line fills a log with carriage returns.
 */
final class TrainProgress implements Trainer.Listener {
    private static final int WIDTH = 30;

    private final PrintStream err;
    private final boolean bar;
    private final String model;
    private final int epochs;

    private TrainProgress(PrintStream err, boolean bar, String model, int epochs) {
        this.err = err;
        this.bar = bar;
        this.model = model;
        this.epochs = epochs;
    }

    /** Whether {@code auto} means a bar: the JVM's console is an interactive terminal. */
    static boolean terminal() {
        Console console = System.console();
        // Since JDK 22 System.console() may exist with redirected streams; isTerminal() tells.
        return console != null && console.isTerminal();
    }

    static TrainProgress of(TrainOptions.Progress progress, PrintStream err, String model, int epochs) {
        boolean bar = switch (progress) {
            case BAR -> true;
            case LOG -> false;
            case AUTO -> terminal();
        };
        return new TrainProgress(err, bar, model, epochs);
    }

    @Override
    public void batchDone(int epoch, int batch, int batches) {
        if (bar) {
            int filled = batch * WIDTH / batches;
            err.print("\r" + prefix(epoch) + " [" + "=".repeat(filled) + " ".repeat(WIDTH - filled) + "] "
                    + batch + "/" + batches);
            err.flush();
        }
    }

    @Override
    public void epochDone(int epoch, double trainLoss, double testAccuracy) {
        String line = String.format(Locale.ROOT, "%s  train loss %.4f  test accuracy %.2f%%",
                prefix(epoch), trainLoss, 100 * testAccuracy);
        if (bar) {
            err.print("\r" + line + " ".repeat(WIDTH));
            err.println();
        } else {
            err.println(line);
        }
    }

    private String prefix(int epoch) {
        int digits = Integer.toString(epochs).length();
        return String.format(Locale.ROOT, "%-7s epoch %" + digits + "d/%d", model, epoch + 1, epochs);
    }
}
