package org.softmax4j.cli;

import java.io.PrintStream;
import org.softmax4j.Softmax4j;

/** {@code info}: what this machine offers, which kernel runs, and a self-check of it on real data. */
final class InfoCommand {
    private InfoCommand() {}

    static int run(PrintStream out) {
        Package pkg = Softmax4j.class.getPackage();
        String version = pkg.getImplementationVersion() == null ? "(development build)" : pkg.getImplementationVersion();
        out.println("Softmax4J " + version);
        out.printf("  java      %s (%s) on %s %s%n", Runtime.version(), System.getProperty("java.vendor"),
                System.getProperty("os.name"), System.getProperty("os.arch"));
        try {
            out.printf("  backend   %s%n", Softmax4j.backend());
        } catch (IllegalStateException e) { // e.g. SOFTMAX4J_ISA names a variant this CPU lacks
            out.printf("  backend   none: %s%n", e.getMessage());
            return 1;
        }
        Softmax4j.fallbackReason().ifPresent(reason -> out.printf("  fallback  %s%n", reason));
        out.printf("  cpu       %s%n", Softmax4j.cpuFeatures());
        out.printf("  kernels   %s can run here; in use: %s (SOFTMAX4J_ISA=scalar|avx2|avx512 forces one)%n",
                String.join(", ", Softmax4j.supportedIsas()), Softmax4j.isa());

        DigitsData digits = DigitsData.load();
        out.printf("Self-check against a float64 reference on %d handwritten digits"
                + " (64 pixels per row as logits), bound %.0e x max(1, |exact|):%n",
                digits.rows(), SelfCheck.BOUND);
        boolean passed = SelfCheck.run(out, digits);
        out.println(passed ? "Self-check passed." : "Self-check FAILED.");
        return passed ? 0 : 1;
    }
}
