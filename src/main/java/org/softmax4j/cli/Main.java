package org.softmax4j.cli;

import java.io.PrintStream;

/** The command line: {@code java -jar softmax4j.jar [info|help]}. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        String command = args.length == 0 ? "info" : args[0];
        int status = switch (command) {
            case "info" -> InfoCommand.run(System.out);
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
        out.println("  help   this text");
    }
}
