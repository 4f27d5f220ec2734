package org.softmax4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
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
        Child child = run("Haswell", "-Dsoftmax4j.openblas.path=/nonexistent/libopenblas.so.0");
        assertEquals(3, child.status, child.toString());
        assertTrue(child.stdout.contains("failure: java.lang.IllegalStateException: OpenBLAS cannot be loaded:"
                + " softmax4j.openblas.path=/nonexistent/libopenblas.so.0: no such file"), child.toString());
    }

    @Test
    void threadsFollowTheProperty() throws Exception {
        Child child = run(null, "-Dsoftmax4j.openblas.threads=2", "-Dsoftmax4j.openblas.coretype=openblas");
        assertEquals(0, child.status, child.toString());
        assertTrue(child.stdout.contains("; 2 threads)"), child.toString());
    }

    @Test
    void anInheritedCoreTypeIsKeptByDefault() throws Exception {
        Child child = run("Haswell");
        assertEquals(0, child.status, child.toString());
        assertTrue(child.stdout.contains("(core Haswell; 1 thread)"), child.toString());
    }

    @Test
    void aNamedCoreTypeReplacesAnInheritedOne() throws Exception {
        Child child = run("Haswell", "-Dsoftmax4j.openblas.coretype=SkylakeX");
        assertEquals(0, child.status, child.toString());
        assertTrue(child.stdout.contains("(core SkylakeX, OPENBLAS_CORETYPE=SkylakeX set by softmax4j; 1 thread)"),
                child.toString());
    }

    @Test
    void anUnknownCoreTypeIsRefused() throws Exception {
        Child child = run(null, "-Dsoftmax4j.openblas.coretype=Pentium9");
        assertEquals(3, child.status, child.toString());
        assertTrue(child.stdout.contains("OPENBLAS_CORETYPE=Pentium9 was set"), child.toString());
        assertTrue(child.stdout.contains("Pentium9 is not a core it knows"), child.toString());
    }

    record Child(int status, String stdout, String stderr) {
        @Override
        public String toString() {
            return "exit " + status + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
        }
    }

    /** Runs {@link #main} with {@code OPENBLAS_CORETYPE} set to {@code coreType} (unset if null). */
    private Child run(String coreType, String... properties) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> command = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED"));
        command.addAll(List.of(properties));
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), OpenBlasSetupTest.class.getName()));
        Path out = Files.createTempFile(temp, "stdout", ".txt");
        Path err = Files.createTempFile(temp, "stderr", ".txt");
        ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile());
        builder.environment().remove("OPENBLAS_NUM_THREADS");
        if (coreType == null) {
            builder.environment().remove("OPENBLAS_CORETYPE");
        } else {
            builder.environment().put("OPENBLAS_CORETYPE", coreType);
        }
        Process process = builder.start();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("the child JVM did not finish within 60 s: " + command);
        }
        return new Child(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }
}
