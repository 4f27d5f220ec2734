package org.softmax4j.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The options of {@code train}, parsed and range-checked before any work starts, so that a typo
 * costs no training time.
 */
record TrainOptions(List<String> models, int epochs, int batch, double learningRate, String optimizer,
        double momentum, int hidden, long seed, Path png, Progress progress) {

    /** How progress is shown: a redrawn bar for a terminal, one line per epoch for logs. */
    enum Progress { AUTO, BAR, LOG }

    static final String USAGE = "usage: train [--model softmax|mlp|both] [--epochs N] [--batch N] [--lr X]"
            + " [--optimizer sgd|adam] [--momentum X] [--hidden N] [--seed N] [--png FILE] [--progress auto|bar|log]";

    /** A rejected option: the message names it and the value it expects. */
    static final class BadOption extends Exception {
        private static final long serialVersionUID = 1L;

        BadOption(String message) {
            super(message);
        }
    }

    static TrainOptions defaults() {
        return new TrainOptions(List.of("softmax", "mlp"), 40, 32, Double.NaN, "adam", 0.9, 64, 42,
                Path.of("target", "softmax4j-train.png"), Progress.AUTO);
    }

    /**
     * The learning rate in use: the one given, or the default of the optimizer (Adam 0.01; plain
     * SGD needs larger steps, 0.1 with momentum).
     */
    double lr() {
        if (!Double.isNaN(learningRate)) {
            return learningRate;
        }
        return optimizer.equals("adam") ? 0.01 : 0.1;
    }

    static TrainOptions parse(List<String> args) throws BadOption {
        TrainOptions o = defaults();
        List<String> models = o.models;
        int epochs = o.epochs;
        int batch = o.batch;
        double lr = o.learningRate;
        String optimizer = o.optimizer;
        double momentum = o.momentum;
        int hidden = o.hidden;
        long seed = o.seed;
        Path png = o.png;
        Progress progress = o.progress;
        for (int i = 0; i < args.size(); i++) {
            String option = args.get(i);
            if (!option.startsWith("--")) {
                throw new BadOption("unexpected argument '" + option + "'");
            }
            if (i + 1 >= args.size()) {
                throw new BadOption(option + " needs a value");
            }
            String value = args.get(++i);
            switch (option) {
                case "--model" -> models = switch (value) {
                    case "softmax" -> List.of("softmax");
                    case "mlp" -> List.of("mlp");
                    case "both" -> List.of("softmax", "mlp");
                    default -> throw new BadOption("--model must be softmax, mlp or both, was '" + value + "'");
                };
                case "--epochs" -> epochs = intIn(option, value, 1, 100_000);
                case "--batch" -> batch = intIn(option, value, 1, 1_000_000);
                case "--hidden" -> hidden = intIn(option, value, 1, 100_000);
                case "--lr" -> lr = positive(option, value);
                case "--momentum" -> {
                    momentum = number(option, value);
                    if (!(momentum >= 0 && momentum < 1)) {
                        throw new BadOption("--momentum must be a number in [0, 1), was '" + value + "'");
                    }
                }
                case "--optimizer" -> {
                    if (!value.equals("sgd") && !value.equals("adam")) {
                        throw new BadOption("--optimizer must be sgd or adam, was '" + value + "'");
                    }
                    optimizer = value;
                }
                case "--seed" -> {
                    try {
                        seed = Long.parseLong(value);
                    } catch (NumberFormatException e) {
                        throw new BadOption("--seed must be an integer, was '" + value + "'");
                    }
                }
                case "--png" -> {
                    if (value.isBlank()) {
                        throw new BadOption("--png must be a file name, was empty");
                    }
                    png = Path.of(value);
                }
                case "--progress" -> {
                    try {
                        progress = Progress.valueOf(value.toUpperCase(Locale.ROOT));
                    } catch (IllegalArgumentException e) {
                        throw new BadOption("--progress must be auto, bar or log, was '" + value + "'");
                    }
                }
                default -> throw new BadOption("unknown option '" + option + "'");
            }
        }
        return new TrainOptions(models, epochs, batch, lr, optimizer, momentum, hidden, seed, png, progress);
    }

    private static int intIn(String option, String value, int min, int max) throws BadOption {
        try {
            int n = Integer.parseInt(value);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new BadOption(option + " must be an integer in [" + min + ", " + max + "], was '" + value + "'");
    }

    private static double positive(String option, String value) throws BadOption {
        double x = number(option, value);
        if (!(x > 0) || Double.isInfinite(x)) {
            throw new BadOption(option + " must be a positive number, was '" + value + "'");
        }
        return x;
    }

    private static double number(String option, String value) throws BadOption {
        try {
            return Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new BadOption(option + " must be a number, was '" + value + "'");
        }
    }
}
