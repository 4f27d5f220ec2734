package org.softmax4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How OpenBLAS is set up, observed in fresh JVMs (it is loaded once per JVM): a library that
 * cannot load is a clear {@link IllegalStateException}, the thread count and the core type follow
 * the library's settings, and an environment's {@code OPENBLAS_CORETYPE} is kept when asked.
 */
class OpenBlasSetupTest {
    @TempDir
    Path temp;

    /** Runs {@link #main} with {@code OPENBLAS_CORETYPE} set to {@code coreType} (unset if null). */
    private ChildJvm.Result run(String coreType, String... properties) throws IOException, InterruptedException {
        Map<String, String> env = new HashMap<>();
        env.put("OPENBLAS_NUM_THREADS", null);
        env.put("OPENBLAS_CORETYPE", coreType);
        return ChildJvm.run(temp, OpenBlasSetupTest.class, env, properties);
    }

    /** The child: builds a Linear and prints what OpenBLAS runs, or the failure. */
    public static void main(String[] args) {
        try (Arena arena = Arena.ofConfined()) {
            new Linear(arena, 2, 2, new SplittableRandom(1));
            System.out.println("blas=" + Linear.blasDescription());
        } catch (IllegalStateException e) {
            System.out.println("failure: " + e);
            System.exit(3);
        }
    }

    @Test
    void aMissingLibraryIsAClearError() throws Exception {
        ChildJvm.Result child = run("Haswell", "-Dsoftmax4j.openblas.path=/nonexistent/libopenblas.so.0");
        assertEquals(3, child.status(), child.toString());
        assertTrue(child.stdout().contains("failure: java.lang.IllegalStateException: OpenBLAS cannot be loaded:"
                + " softmax4j.openblas.path=/nonexistent/libopenblas.so.0: no such file"), child.toString());
    }

    @Test
    void threadsFollowTheProperty() throws Exception {
        ChildJvm.Result child = run(null, "-Dsoftmax4j.openblas.threads=2", "-Dsoftmax4j.openblas.coretype=openblas");
        assertEquals(0, child.status(), child.toString());
        assertTrue(child.stdout().contains("; 2 threads)"), child.toString());
    }

    @Test
    void anInheritedCoreTypeIsKeptByDefault() throws Exception {
        ChildJvm.Result child = run("Haswell");
        assertEquals(0, child.status(), child.toString());
        assertTrue(child.stdout().contains("(core Haswell; 1 thread)"), child.toString());
    }

    @Test
    void aNamedCoreTypeReplacesAnInheritedOne() throws Exception {
        ChildJvm.Result child = run("Haswell", "-Dsoftmax4j.openblas.coretype=SkylakeX");
        assertEquals(0, child.status(), child.toString());
        assertTrue(child.stdout().contains("(core SkylakeX, OPENBLAS_CORETYPE=SkylakeX set by softmax4j; 1 thread)"),
                child.toString());
    }

    @Test
    void anUnknownCoreTypeIsRefused() throws Exception {
        ChildJvm.Result child = run(null, "-Dsoftmax4j.openblas.coretype=Pentium9");
        assertEquals(3, child.status(), child.toString());
        assertTrue(child.stdout().contains("OPENBLAS_CORETYPE=Pentium9 was set"), child.toString());
        assertTrue(child.stdout().contains("Pentium9 is not a core it knows"), child.toString());
    }
}
