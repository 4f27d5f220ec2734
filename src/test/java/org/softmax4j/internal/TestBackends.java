package org.softmax4j.internal;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.stream.Stream;

/**
 * The backends every kernel test runs on: the dispatched native one, each native variant, and the
 * pure-Java one. Native ones this machine cannot run are skipped with an assumption; but when the
 * library is on the classpath it must load, so a broken build never passes as a skipped one.
 */
public final class TestBackends {
    private TestBackends() {}

    public static Stream<String> names() {
        return Stream.of("dispatched", "scalar", "avx2", "avx512", "java");
    }

    /** Whether the build put the native library for this platform on the classpath. */
    public static boolean nativeBuilt() {
        String resource;
        try {
            resource = "/native/" + NativeLibraryLoader.platform(System.getProperty("os.name"),
                    System.getProperty("os.arch")) + "/" + System.mapLibraryName(NativeLibraryLoader.LIBRARY_NAME);
        } catch (UnsatisfiedLinkError e) {
            return false;
        }
        return TestBackends.class.getResource(resource) != null;
    }

    /** The backend called {@code name}, or aborts the test when it cannot run here. */
    public static Backend get(String name) {
        if (name.equals("java")) {
            return JavaBackend.INSTANCE;
        }
        requireNative();
        if (name.equals("dispatched")) {
            Backend backend = Backends.get();
            assertTrue(backend instanceof NativeBackend, "the dispatched backend is " + backend);
            return backend;
        }
        assumeTrue(NativeBackend.supportedVariants().contains(name), "this CPU cannot run " + name);
        return NativeBackend.variant(name);
    }

    /** Aborts the test when there is no native library to test; fails when it is there but broken. */
    public static void requireNative() {
        if (nativeBuilt()) {
            NativeBackend.loadFailure().ifPresent(failure -> {
                throw new AssertionError("the native library is on the classpath but does not load", failure);
            });
        } else {
            assumeTrue(NativeBackend.loadFailure().isEmpty(), "no native library: " + NativeBackend.loadFailure());
        }
    }
}
