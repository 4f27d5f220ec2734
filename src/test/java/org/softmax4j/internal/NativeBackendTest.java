package org.softmax4j.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.MemorySegment;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Pinning variants, and what the native backend does with an error code it should never see. */
class NativeBackendTest {

    @Test
    void variantsAreNamedAndChecked() {
        TestBackends.requireNative();
        List<String> supported = NativeBackend.supportedVariants();
        assertTrue(supported.contains("scalar"), supported.toString());
        for (String variant : supported) {
            Backend backend = NativeBackend.variant(variant);
            assertEquals("native", backend.name());
            assertEquals(variant, backend.isa());
        }
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> NativeBackend.variant("sse9"));
        assertEquals("isa must be one of scalar, avx2, avx512, was 'sse9'", unknown.getMessage());
        for (String variant : NativeBackend.VARIANTS) {
            if (!supported.contains(variant)) {
                IllegalArgumentException lacking = assertThrows(IllegalArgumentException.class,
                        () -> NativeBackend.variant(variant));
                assertTrue(lacking.getMessage().startsWith("this CPU cannot run the " + variant + " variant"),
                        lacking.getMessage());
            }
        }
    }

    @Test
    void aNativeErrorCodeBecomesAnIllegalStateExceptionWithItsDescription() {
        TestBackends.requireNative();
        // Only reachable by bypassing the Java checks, as here.
        Backend backend = NativeBackend.dispatched();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> backend.forward(MemorySegment.NULL, MemorySegment.NULL, -1, 4));
        assertTrue(e.getMessage().startsWith("native kernel failed with -2: "), e.getMessage());
        assertTrue(e.getMessage().length() > "native kernel failed with -2: ".length(), e.getMessage());
        e = assertThrows(IllegalStateException.class,
                () -> backend.backward(MemorySegment.NULL, MemorySegment.NULL, MemorySegment.NULL, 2, 4));
        assertTrue(e.getMessage().startsWith("native kernel failed with -1: "), e.getMessage());
    }

    @Test
    void withoutTheLibraryEveryNativeEntryExplainsWhy() {
        assumeTrue(NativeBackend.loadFailure().isPresent(), "the native library is loaded");
        IllegalStateException e = assertThrows(IllegalStateException.class, NativeBackend::dispatched);
        assertTrue(e.getMessage().startsWith("the native library is not loaded: "), e.getMessage());
        assertThrows(IllegalStateException.class, () -> NativeBackend.variant("scalar"));
        assertThrows(IllegalStateException.class, NativeBackend::supportedVariants);
        assertThrows(IllegalStateException.class, NativeBackend::cpuFeatures);
    }
}
