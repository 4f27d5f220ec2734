package org.softmax4j.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.softmax4j.Linear;

/**
 * {@code train}: trains softmax regression and a one-hidden-layer MLP on the bundled digits with
 * Linear (OpenBLAS) and LogSoftmax, prints the progress and the final test accuracies, and plots
 * the curves to a PNG. A model that ends below {@link #REQUIRED_ACCURACY} on the test set fails
 * the command, so the demo doubles as an end-to-end check of the forward and backward passes.
 */
final class TrainCommand {
    static final double REQUIRED_ACCURACY = 0.95;

    private TrainCommand() {}

    static int run(List<String> args, PrintStream out, PrintStream err) {
        TrainOptions options;
        try {
            options = TrainOptions.parse(args);
        } catch (TrainOptions.BadOption e) {
            err.println("softmax4j train: " + e.getMessage());
            err.println(TrainOptions.USAGE);
            return 2;
        }
        long start = System.nanoTime();
        String blas;
        try {
            blas = Linear.blasDescription();
        } catch (IllegalStateException e) {
            err.println("softmax4j train: " + e.getMessage());
            return 1;
        }
        DigitsSplit split = DigitsSplit.of(DigitsData.load());
        String setup = String.format(Locale.ROOT, "%s, lr %s, batch %d, %d epochs, seed %d",
                options.optimizer().equals("adam") ? "Adam" : "SGD (momentum " + options.momentum() + ")",
                options.lr(), options.batch(), options.epochs(), options.seed());
        out.printf(Locale.ROOT, "digits: %d train / %d test rows (seeded %.0f/%.0f split), pixels scaled to [0, 1]%n",
                split.train().rows(), split.test().rows(), 100 * (1 - DigitsSplit.TEST_FRACTION),
                100 * DigitsSplit.TEST_FRACTION);
        out.println("training: " + setup);
        out.println("blas: " + blas);
        out.flush();

        List<Trainer.History> histories = new ArrayList<>();
        for (String name : options.models()) {
            histories.add(trainOne(name, options, split, err));
        }

        out.println();
        for (Trainer.History h : histories) {
            out.printf(Locale.ROOT, "%-7s final test accuracy %.2f%%  (%d epochs in %.2f s)%n",
                    h.model(), 100 * h.finalAccuracy(), h.trainLoss().length, h.seconds());
        }
        out.printf(Locale.ROOT, "wall time %.2f s%n", (System.nanoTime() - start) / 1e9);
        try {
            TrainChart.write(histories, "Softmax4J on the UCI digits: " + setup, options.png());
            out.println("chart: " + options.png());
        } catch (IOException | RuntimeException | Error e) {
            // A JDK without fonts or AWT fails here; training itself has succeeded.
            err.println("softmax4j train: cannot write the chart " + options.png() + ": " + e);
            return 1;
        }

        int status = 0;
        for (Trainer.History h : histories) {
            if (!(h.finalAccuracy() >= REQUIRED_ACCURACY)) {
                err.printf(Locale.ROOT, "softmax4j train: %s reached %.2f%% test accuracy, below the required %.0f%%%n",
                        h.model(), 100 * h.finalAccuracy(), 100 * REQUIRED_ACCURACY);
                status = 1;
            }
        }
        return status;
    }

    /** Builds and trains one model; its weights live only for the call. */
    static Trainer.History trainOne(String name, TrainOptions options, DigitsSplit split, PrintStream err) {
        // One generator per model from the seed alone, so --model mlp trains exactly what both does.
        SplittableRandom root = new SplittableRandom(options.seed());
        SplittableRandom init = root.split();
        SplittableRandom shuffle = root.split();
        try (Arena arena = Arena.ofConfined()) {
            Classifier model = switch (name) {
                case "softmax" -> new SoftmaxRegression(arena, init);
                case "mlp" -> new Mlp(arena, options.hidden(), init);
                default -> throw new IllegalArgumentException("unknown model " + name);
            };
            Optimizer optimizer = options.optimizer().equals("adam")
                    ? new Adam(model.parameters(), options.lr())
                    : new Sgd(model.parameters(), options.lr(), options.momentum());
            return Trainer.train(model, optimizer, split, options.epochs(), options.batch(), shuffle,
                    TrainProgress.of(options.progress(), err, name, options.epochs()));
        }
    }
}
