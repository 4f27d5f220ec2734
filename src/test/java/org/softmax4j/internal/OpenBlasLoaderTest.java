package org.softmax4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class OpenBlasLoaderTest {
    static final Set<String> ZEN5 = Set.of("avx2", "fma", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl");
    static final Set<String> AVX2_ONLY = Set.of("avx2", "fma");

    @Test
    void threadsDefaultToOne() {
        assertEquals(1, OpenBlasLoader.threads(null));
        assertEquals(1, OpenBlasLoader.threads(" "));
        assertEquals(4, OpenBlasLoader.threads(" 4 "));
        assertEquals("softmax4j.openblas.threads must be an integer >= 1, was '0'",
                assertThrows(IllegalStateException.class, () -> OpenBlasLoader.threads("0")).getMessage());
        assertThrows(IllegalStateException.class, () -> OpenBlasLoader.threads("many"));
    }

    @Test
    void coreTypePolicy() {
        assertEquals(Optional.of("SkylakeX"), OpenBlasLoader.coreType("auto", ZEN5, null));
        assertEquals(Optional.empty(), OpenBlasLoader.coreType("auto", ZEN5, "Haswell")); // inherited: kept
        assertEquals(Optional.empty(), OpenBlasLoader.coreType("AUTO", AVX2_ONLY, null));
        assertEquals(Optional.empty(), OpenBlasLoader.coreType("openblas", ZEN5, null));
        assertEquals(Optional.of("Haswell"), OpenBlasLoader.coreType(" Haswell ", ZEN5, null));
        assertEquals(Optional.of("SkylakeX"), OpenBlasLoader.coreType("SkylakeX", ZEN5, "Haswell"));
        assertThrows(IllegalStateException.class, () -> OpenBlasLoader.coreType("", ZEN5, null));
    }

    @Test
    void loadedLibraryRunsTheInheritedOrTheChosenCoreOnOneThread() throws IOException {
        assertEquals(Optional.empty(), OpenBlasBindings.loadFailure());
        assertEquals(1, OpenBlasBindings.threads());
        String config = OpenBlasBindings.config();
        assertTrue(config.contains("DYNAMIC_ARCH"), config);
        String flags = Files.readString(Path.of("/proc/cpuinfo"));
        assumeTrue(System.getProperty("softmax4j.openblas.coretype") == null);
        assumeTrue(ZEN5.stream().allMatch(flag -> flags.contains(" " + flag + " ") || flags.contains(" " + flag + "\n")));
        String inherited = System.getenv("OPENBLAS_CORETYPE");
        if (inherited == null) {
            assertEquals("SkylakeX", OpenBlasBindings.coreName());
            assertEquals(Optional.of("SkylakeX"), OpenBlasBindings.coreTypeSet());
        } else { // auto keeps what the environment chose
            assertTrue(OpenBlasBindings.coreName().equalsIgnoreCase(inherited), OpenBlasBindings.coreName());
            assertEquals(Optional.empty(), OpenBlasBindings.coreTypeSet());
        }
    }
}
