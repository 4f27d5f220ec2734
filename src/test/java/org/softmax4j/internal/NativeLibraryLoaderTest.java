package org.softmax4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class NativeLibraryLoaderTest {

    @Test
    void platformNames() {
        assertEquals("linux-x86_64", NativeLibraryLoader.platform("Linux", "amd64"));
        assertEquals("linux-x86_64", NativeLibraryLoader.platform("Linux", "x86_64"));
        assertEquals("linux-aarch64", NativeLibraryLoader.platform("Linux", "aarch64"));
        assertEquals("macos-aarch64", NativeLibraryLoader.platform("Mac OS X", "aarch64"));
        assertEquals("windows-x86_64", NativeLibraryLoader.platform("Windows 11", "amd64"));
        UnsatisfiedLinkError os = assertThrows(UnsatisfiedLinkError.class,
                () -> NativeLibraryLoader.platform("SunOS", "amd64"));
        assertEquals("unsupported operating system: os.name=SunOS", os.getMessage());
        UnsatisfiedLinkError arch = assertThrows(UnsatisfiedLinkError.class,
                () -> NativeLibraryLoader.platform("Linux", "riscv64"));
        assertEquals("unsupported architecture: os.arch=riscv64", arch.getMessage());
    }

    @Test
    void extractionLeavesNothingBehindOnLinux() throws IOException {
        assumeTrue(TestBackends.nativeBuilt(), "no native library in this build");
        assumeTrue(System.getProperty("os.name").startsWith("Linux"));
        List<Path> before = extractedDirectories();
        SymbolLookup lookup = NativeLibraryLoader.load();
        assertTrue(lookup.find("s4j_log_softmax_forward_f32").isPresent());
        assertEquals(before, extractedDirectories());
    }

    private static List<Path> extractedDirectories() throws IOException {
        try (Stream<Path> files = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return files.filter(p -> p.getFileName().toString().startsWith("softmax4j-")).sorted().toList();
        }
    }
}
