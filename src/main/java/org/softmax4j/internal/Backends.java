package org.softmax4j.internal;

import java.util.Locale;
import java.util.Optional;

/**
 * Chooses the backend once, on first use, from the system property {@value #BACKEND_PROPERTY}:
 *
 * <ul>
 *   <li>{@code auto} (the default): the native kernels when the library loads, otherwise the
 *       pure-Java ones, after one warning through {@link System.Logger} that says why;
 *   <li>{@code native}: the native kernels, or an {@link IllegalStateException} with the reason;
 *   <li>{@code java}: the pure-Java kernels, without loading the library.
 * </ul>
 *
 * A loaded library whose variant cannot be chosen ({@code SOFTMAX4J_ISA} names one this CPU lacks,
 * or an unknown one) is an error in every mode: a forced choice is never silently ignored.
 */
public final class Backends {
    public static final String BACKEND_PROPERTY = "softmax4j.backend";

    private Backends() {}

    /** What was chosen: a backend and why it is not the native one, or why there is none. */
    private record Choice(Backend backend, String fallbackReason, RuntimeException failure) {}

    private static final class Holder {
        static final Choice CHOICE = choose();
    }

    /**
     * The backend in use.
     *
     * @throws IllegalStateException if none can be used (see the class documentation)
     */
    public static Backend get() {
        Choice choice = Holder.CHOICE;
        if (choice.failure != null) {
            // A fresh exception per call, so that each caller's stack trace is its own.
            throw new IllegalStateException(choice.failure.getMessage(), choice.failure);
        }
        return choice.backend;
    }

    /**
     * Why the pure-Java backend is in use, or empty when the native one is.
     *
     * @throws IllegalStateException if no backend can be used
     */
    public static Optional<String> fallbackReason() {
        get();
        return Optional.ofNullable(Holder.CHOICE.fallbackReason);
    }

    private static Choice choose() {
        String property = System.getProperty(BACKEND_PROPERTY, "auto");
        String mode = property.trim().toLowerCase(Locale.ROOT);
        return switch (mode) {
            case "java" -> new Choice(JavaBackend.INSTANCE, "the java backend was chosen with -D" + BACKEND_PROPERTY + "=java", null);
            case "native", "auto" -> {
                Optional<LinkageError> failure = NativeBackend.loadFailure();
                if (failure.isEmpty()) {
                    try {
                        yield new Choice(NativeBackend.dispatched(), null, null);
                    } catch (IllegalStateException e) {
                        yield new Choice(null, null, e);
                    }
                }
                String reason = failure.get().getMessage();
                if (mode.equals("native")) {
                    yield new Choice(null, null, new IllegalStateException(
                            "-D" + BACKEND_PROPERTY + "=native, but the native library cannot be loaded: " + reason,
                            failure.get()));
                }
                System.getLogger("org.softmax4j").log(System.Logger.Level.WARNING,
                        "Softmax4J uses its pure-Java kernels, slower than the native ones: " + reason);
                yield new Choice(JavaBackend.INSTANCE, reason, null);
            }
            default -> new Choice(null, null, new IllegalStateException(
                    BACKEND_PROPERTY + " must be auto, native or java, was '" + property + "'"));
        };
    }
}
