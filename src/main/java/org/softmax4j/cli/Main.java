package org.softmax4j.cli;

import java.io.PrintStream;
import java.util.Arrays;

/** The command line: {@code java -jar softmax4j.jar [info|bench|train|help]}. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        String command = args.length == 0 ? "info" : args[0];
        int status = switch (command) {
            case "info" -> InfoCommand.run(System.out);
            case "bench" -> BenchCommand.run(Arrays.asList(args).subList(1, args.length), System.out, System.err);
            case "train" -> TrainCommand.run(Arrays.asList(args).subList(1, args.length), System.out, System.err);
            case "help", "-h", "--help" -> {
                usage(System.out);
                yield 0;
            }
            default -> {
                System.err.println("softmax4j: unknown command '" + command + "'");
                usage(System.err);
                yield 2;
            }
        };
        System.exit(status);
    }

    private static void usage(PrintStream out) {
        out.println("usage: java --enable-native-access=ALL-UNNAMED -jar softmax4j.jar [command]");
        out.println("commands:");
        out.println("  info   CPU features, the kernel chosen, and a self-check on real data (default)");
        out.println("  bench [--svg FILE] [--threads N]");
        out.println("         a quick benchmark (under a minute): every kernel, the Java API and a pure-Java");
        out.println("         baseline against the memory bandwidth, as a table and an SVG chart");
        out.println("         (default target/softmax4j-bench.svg); N threads for the parallel row (default 2)");
        out.println("  train [--model softmax|mlp|both] [--epochs N] [--batch N] [--lr X] [--optimizer sgd|adam]");
        out.println("        [--momentum X] [--hidden N] [--seed N] [--png FILE] [--progress auto|bar|log]");
        out.println("         trains softmax regression and a one-hidden-layer MLP on the bundled digits (80/20");
        out.println("         split), prints the test accuracy and plots the curves (default target/softmax4j-train.png);");
        out.println("         exit code 1 if a model ends below 95% test accuracy");
        out.println("  help   this text");
    }
}
