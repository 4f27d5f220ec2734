package org.softmax4j.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * The downcall handles to OpenBLAS: {@code cblas_sgemm} and the few functions that configure and
 * describe the library.
 *
 * <p>The library is loaded on first use, by {@link OpenBlasLoader}; if that fails, every method
 * throws an {@link IllegalStateException} that says why. The callers check every argument:
 * OpenBLAS is given only sizes that fit its 32-bit {@code int}, leading dimensions of at least 1,
 * and memory that holds the matrices.
 *
 * <p>Like {@link NativeBindings}, {@code cblas_sgemm} has a critical handle, used for heap memory
 * (it passes the array's address without a copy) and for small products, and an ordinary one for
 * large off-heap products, which may run long.
 */
@SuppressWarnings("restricted")
public final class OpenBlasBindings {
    /** {@code CBLAS_ORDER} and {@code CBLAS_TRANSPOSE} values from {@code cblas.h}. */
    private static final int ROW_MAJOR = 101;
    private static final int NO_TRANS = 111;
    private static final int TRANS = 112;

    /** Products of at most this many multiply-adds take microseconds: short enough for a critical call. */
    static final long CRITICAL_MAX_FLOPS = 1L << 18;

    private OpenBlasBindings() {}

    /** The handles, or why there are none; built once, on first use. */
    private static final class Link {
        static final Link INSTANCE = create();

        final RuntimeException failure;
        final MethodHandle sgemm;
        final MethodHandle sgemmCritical;
        final MethodHandle setNumThreads;
        final MethodHandle getNumThreads;
        final MethodHandle getConfig;
        final MethodHandle getCorename;
        final OpenBlasLoader.Loaded loaded;

        private Link(RuntimeException failure, OpenBlasLoader.Loaded loaded, SymbolLookup lookup) {
            this.failure = failure;
            this.loaded = loaded;
            if (lookup == null) {
                sgemm = sgemmCritical = setNumThreads = getNumThreads = getConfig = getCorename = null;
                return;
            }
            Linker linker = Linker.nativeLinker();
            FunctionDescriptor sgemmType = FunctionDescriptor.ofVoid(JAVA_INT, JAVA_INT, JAVA_INT,
                    JAVA_INT, JAVA_INT, JAVA_INT, JAVA_FLOAT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT,
                    JAVA_FLOAT, ADDRESS, JAVA_INT);
            sgemm = linker.downcallHandle(symbol(lookup, "cblas_sgemm"), sgemmType);
            sgemmCritical = linker.downcallHandle(symbol(lookup, "cblas_sgemm"), sgemmType, Linker.Option.critical(true));
            setNumThreads = linker.downcallHandle(symbol(lookup, "openblas_set_num_threads"),
                    FunctionDescriptor.ofVoid(JAVA_INT));
            getNumThreads = linker.downcallHandle(symbol(lookup, "openblas_get_num_threads"),
                    FunctionDescriptor.of(JAVA_INT));
            getConfig = linker.downcallHandle(symbol(lookup, "openblas_get_config"), FunctionDescriptor.of(ADDRESS));
            getCorename = linker.downcallHandle(symbol(lookup, "openblas_get_corename"), FunctionDescriptor.of(ADDRESS));
        }

        private static Link create() {
            try {
                OpenBlasLoader.Loaded loaded = OpenBlasLoader.load();
                Link link = new Link(null, loaded, loaded.lookup());
                link.setNumThreads.invokeExact(loaded.threads());
                if (loaded.coreTypeSet().isPresent()) {
                    // OpenBLAS falls back to its own detection for a name it does not know: say so.
                    String asked = loaded.coreTypeSet().get();
                    String running = string((MemorySegment) link.getCorename.invokeExact());
                    if (!running.equalsIgnoreCase(asked)) {
                        return new Link(new IllegalStateException("OPENBLAS_CORETYPE=" + asked + " was set (see -D"
                                + OpenBlasLoader.CORETYPE_PROPERTY + "), but OpenBLAS runs its " + running
                                + " kernels: " + asked + " is not a core it knows"), null, null);
                    }
                }
                return link;
            } catch (IllegalStateException e) {
                return new Link(e, null, null);
            } catch (Throwable t) {
                return new Link(new IllegalStateException("OpenBLAS cannot be set up: " + t, t), null, null);
            }
        }

        private static MemorySegment symbol(SymbolLookup lookup, String name) {
            return lookup.find(name).orElseThrow(
                    () -> new IllegalStateException("the OpenBLAS library lacks the symbol " + name));
        }
    }

    /**
     * Loads OpenBLAS if it is not loaded yet.
     *
     * @throws IllegalStateException saying why, if it cannot be loaded
     */
    public static void requireLoaded() {
        link();
    }

    /** Why OpenBLAS cannot be used, or empty when it can; loads it if needed. */
    public static Optional<String> loadFailure() {
        RuntimeException failure = Link.INSTANCE.failure;
        return failure == null ? Optional.empty() : Optional.of(failure.getMessage());
    }

    /**
     * {@code C = alpha * op(A) * op(B) + beta * C} on row-major matrices, {@code op(A)} being
     * {@code m x k} and {@code op(B)} {@code k x n}; the caller has checked every argument.
     */
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
            MemorySegment a, int lda, MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
        Link link = link();
        int ta = transA ? TRANS : NO_TRANS;
        int tb = transB ? TRANS : NO_TRANS;
        boolean critical = (long) m * n * k <= CRITICAL_MAX_FLOPS || !a.isNative() || !b.isNative() || !c.isNative();
        try {
            if (critical) {
                link.sgemmCritical.invokeExact(ROW_MAJOR, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            } else {
                link.sgemm.invokeExact(ROW_MAJOR, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The number of threads OpenBLAS uses, as it reports it. */
    public static int threads() {
        try {
            return (int) link().getNumThreads.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The core type whose kernels OpenBLAS uses, like {@code SkylakeX}. */
    public static String coreName() {
        try {
            return string((MemorySegment) link().getCorename.invokeExact());
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** OpenBLAS's build description, like {@code OpenBLAS 0.3.31 DYNAMIC_ARCH NO_AFFINITY ...}. */
    public static String config() {
        try {
            return string((MemorySegment) link().getConfig.invokeExact());
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The {@code OPENBLAS_CORETYPE} this library set before loading, or empty if it left it alone. */
    public static Optional<String> coreTypeSet() {
        return link().loaded.coreTypeSet();
    }

    private static Link link() {
        Link link = Link.INSTANCE;
        if (link.failure != null) {
            // A fresh exception per call, so that each caller's stack trace is its own.
            throw new IllegalStateException(link.failure.getMessage(), link.failure);
        }
        return link;
    }

    /** The strings OpenBLAS returns are static and NUL-terminated. */
    private static String string(MemorySegment address) {
        return address.reinterpret(Long.MAX_VALUE).getString(0);
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException e) {
            return e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException("unexpected checked exception from an OpenBLAS call", t);
    }
}
