package org.softmax4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
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

    @Test
    void autoFallsBackToJavaWithOneWarning() throws Exception {
        Child child = run(Map.of(), "-Dsoftmax4j.library.path=" + BAD_LIBRARY);
        assertEquals(0, child.status, child.toString());
        assertTrue(child.stdout.contains("backend=java"), child.toString());
        assertTrue(child.stdout.contains("isa=java"), child.toString());
        assertTrue(child.stdout.contains("fallbackReason=softmax4j.library.path=" + BAD_LIBRARY + ": no such file"),
                child.toString());
        assertTrue(child.stdout.contains("results ok"), child.toString());
        List<String> warnings = child.stderr.lines().filter(line -> line.contains("pure-Java kernels")).toList();
        assertEquals(1, warnings.size(), child.toString());
        assertTrue(warnings.get(0).contains(BAD_LIBRARY + ": no such file"), child.toString());
    }

    @Test
    void nativeRequiredFailsClearly() throws Exception {
        Child child = run(Map.of(), "-Dsoftmax4j.library.path=" + BAD_LIBRARY, "-Dsoftmax4j.backend=native");
        assertEquals(3, child.status, child.toString());
        assertTrue(child.stdout.contains("failure: java.lang.IllegalStateException: -Dsoftmax4j.backend=native,"
                + " but the native library cannot be loaded: softmax4j.library.path=" + BAD_LIBRARY + ": no such file"),
                child.toString());
        assertTrue(child.stderr.lines().noneMatch(line -> line.contains("pure-Java kernels")), child.toString());
    }

    @Test
    void aForcedVariantIsObeyedOrRefused() throws Exception {
        assumeTrue(TestBackends.nativeBuilt(), "no native library in this build");
        Child scalar = run(Map.of("SOFTMAX4J_ISA", "scalar"));
        assertEquals(0, scalar.status, scalar.toString());
        assertTrue(scalar.stdout.contains("backend=native"), scalar.toString());
        assertTrue(scalar.stdout.contains("isa=scalar"), scalar.toString());
        assertTrue(scalar.stdout.contains("results ok"), scalar.toString());

        Child unknown = run(Map.of("SOFTMAX4J_ISA", "sse9"));
        assertEquals(3, unknown.status, unknown.toString());
        assertTrue(unknown.stdout.contains("failure: java.lang.IllegalStateException: the native kernel cannot be chosen"),
                unknown.toString());
        assertTrue(unknown.stdout.contains("SOFTMAX4J_ISA=sse9"), unknown.toString());
    }

    record Child(int status, String stdout, String stderr) {
        @Override
        public String toString() {
            return "exit " + status + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
        }
    }

    private Child run(Map<String, String> environment, String... properties) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> command = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED"));
        command.addAll(List.of(properties));
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), FallbackMain.class.getName()));
        Path out = Files.createTempFile(temp, "stdout", ".txt");
        Path err = Files.createTempFile(temp, "stderr", ".txt");
        ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
        builder.environment().remove("SOFTMAX4J_ISA");
        builder.environment().putAll(environment);
        Process process = builder.start();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("the child JVM did not finish within 60 s: " + command);
        }
        return new Child(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }
}
