package org.softmax4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.softmax4j.internal.TestBackends;

/**
 * How the backend is chosen, observed in fresh JVMs (the choice is made once per JVM): with a
 * library that cannot load, {@code auto} falls back to Java after one warning, while
 * {@code native} fails; a variant forced through {@code SOFTMAX4J_ISA} is obeyed or refused, never
 * ignored.
 */
class FallbackTest {
    static final String BAD_LIBRARY = "/nonexistent/libx.so";

    @TempDir
    Path temp;

    /** Runs {@link FallbackMain} with {@code SOFTMAX4J_ISA} unset, then set as {@code environment} says. */
    private ChildJvm.Result run(Map<String, String> environment, String... properties)
            throws IOException, InterruptedException {
        Map<String, String> env = new HashMap<>();
        env.put("SOFTMAX4J_ISA", null);
        env.putAll(environment);
        return ChildJvm.run(temp, FallbackMain.class, env, properties);
    }

    @Test
    void autoFallsBackToJavaWithOneWarning() throws Exception {
        ChildJvm.Result child = run(Map.of(), "-Dsoftmax4j.library.path=" + BAD_LIBRARY);
        assertEquals(0, child.status(), child.toString());
        assertTrue(child.stdout().contains("backend=java"), child.toString());
        assertTrue(child.stdout().contains("isa=java"), child.toString());
        assertTrue(child.stdout().contains("fallbackReason=softmax4j.library.path=" + BAD_LIBRARY + ": no such file"),
                child.toString());
        assertTrue(child.stdout().contains("results ok"), child.toString());
        List<String> warnings = child.stderr().lines().filter(line -> line.contains("pure-Java kernels")).toList();
        assertEquals(1, warnings.size(), child.toString());
        assertTrue(warnings.get(0).contains(BAD_LIBRARY + ": no such file"), child.toString());
    }

    @Test
    void nativeRequiredFailsClearly() throws Exception {
        ChildJvm.Result child = run(Map.of(), "-Dsoftmax4j.library.path=" + BAD_LIBRARY, "-Dsoftmax4j.backend=native");
        assertEquals(3, child.status(), child.toString());
        assertTrue(child.stdout().contains("failure: java.lang.IllegalStateException: -Dsoftmax4j.backend=native,"
                + " but the native library cannot be loaded: softmax4j.library.path=" + BAD_LIBRARY + ": no such file"),
                child.toString());
        assertTrue(child.stderr().lines().noneMatch(line -> line.contains("pure-Java kernels")), child.toString());
    }

    @Test
    void aForcedVariantIsObeyedOrRefused() throws Exception {
        assumeTrue(TestBackends.nativeBuilt(), "no native library in this build");
        ChildJvm.Result scalar = run(Map.of("SOFTMAX4J_ISA", "scalar"));
        assertEquals(0, scalar.status(), scalar.toString());
        assertTrue(scalar.stdout().contains("backend=native"), scalar.toString());
        assertTrue(scalar.stdout().contains("isa=scalar"), scalar.toString());
        assertTrue(scalar.stdout().contains("results ok"), scalar.toString());

        ChildJvm.Result unknown = run(Map.of("SOFTMAX4J_ISA", "sse9"));
        assertEquals(3, unknown.status(), unknown.toString());
        assertTrue(unknown.stdout().contains("failure: java.lang.IllegalStateException: the native kernel cannot be chosen"),
                unknown.toString());
        assertTrue(unknown.stdout().contains("SOFTMAX4J_ISA=sse9"), unknown.toString());
    }
}
