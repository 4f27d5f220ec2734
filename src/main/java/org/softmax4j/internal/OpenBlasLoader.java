package org.softmax4j.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Loads OpenBLAS, after setting the two environment variables it reads once, when it initialises.
 *
 * <p>The library comes from the {@code org.bytedeco:openblas} jar for the platform (a runtime
 * dependency): {@code libopenblas.so.0}, a {@code DYNAMIC_ARCH} build that picks its kernels for
 * the CPU at load time, and the {@code libgfortran.so.5} it needs, both copied to one private
 * directory by {@link ResourceLibraries}. Only JavaCPP's native files are used, none of its
 * classes. The system property {@value #PATH_PROPERTY} names another {@code libopenblas} file to
 * load instead (for example Debian's {@code /usr/lib/x86_64-linux-gnu/libopenblas.so.0}).
 *
 * <p>Before loading, the C library's {@code setenv} (through FFM; the JVM's own
 * {@link System#getenv} is a snapshot that OpenBLAS never sees) sets:
 * <ul>
 *   <li>{@code OPENBLAS_NUM_THREADS} to {@value #THREADS_PROPERTY} (default 1), so that OpenBLAS
 *       starts no thread pool of its own; {@link OpenBlasBindings} then also calls
 *       {@code openblas_set_num_threads} with it;
 *   <li>{@code OPENBLAS_CORETYPE}, as {@value #CORETYPE_PROPERTY} says: {@code auto} (the
 *       default) keeps a value the process inherited (whoever set it may know of a CPU that an
 *       OpenBLAS kernel mishandles, so it is logged once, never silently replaced) and otherwise
 *       sets {@code SkylakeX} on a CPU with the AVX-512 subsets its kernels use, leaving the
 *       variable unset elsewhere; {@code openblas} always leaves it as it is (unset: OpenBLAS
 *       detects the CPU); any other value is set as the core type, replacing an inherited one.
 *       On a Zen 5, 1024³ {@code sgemm} on one thread runs at about 195 GFLOP/s as
 *       {@code SkylakeX}, 185 as {@code Cooperlake} (what OpenBLAS 0.3.31 detects) and 100 as
 *       {@code Haswell}, which an older OpenBLAS that does not know the CPU would pick.
 * </ul>
 * The variables stay set in this process, and child processes inherit them.
 */
@SuppressWarnings("restricted")
final class OpenBlasLoader {
    static final String THREADS_PROPERTY = "softmax4j.openblas.threads";
    static final String CORETYPE_PROPERTY = "softmax4j.openblas.coretype";
    static final String PATH_PROPERTY = "softmax4j.openblas.path";

    /** The AVX-512 subsets that OpenBLAS's SkylakeX kernels use (its {@code support_avx512()}). */
    private static final Set<String> SKYLAKEX_FLAGS = Set.of("avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl");

    private OpenBlasLoader() {}

    /** How OpenBLAS was loaded: its symbols, and the settings it was given. */
    record Loaded(SymbolLookup lookup, int threads, Optional<String> coreTypeSet) {}

    /**
     * Sets the environment and loads OpenBLAS into the global arena.
     *
     * @throws IllegalStateException naming what is missing or wrong, if it cannot be loaded
     */
    static Loaded load() {
        int threads = threads(System.getProperty(THREADS_PROPERTY));
        String inherited = System.getenv("OPENBLAS_CORETYPE");
        Optional<String> coreType = coreType(System.getProperty(CORETYPE_PROPERTY, "auto"), cpuFlags(), inherited);
        setenv("OPENBLAS_NUM_THREADS", Integer.toString(threads));
        coreType.ifPresentOrElse(type -> setenv("OPENBLAS_CORETYPE", type), () -> {
            if (inherited != null) {
                System.getLogger("org.softmax4j").log(System.Logger.Level.INFO, "OpenBLAS runs its "
                        + inherited + " kernels, as OPENBLAS_CORETYPE in the environment says"
                        + " (-D" + CORETYPE_PROPERTY + "=<core> chooses another)");
            }
        });
        try {
            return new Loaded(lookup(), threads, coreType);
        } catch (UnsatisfiedLinkError e) {
            throw new IllegalStateException("OpenBLAS cannot be loaded: " + e.getMessage(), e);
        }
    }

    /**
     * The thread count from the property's value: default 1, at least 1.
     *
     * @throws IllegalStateException if it is not a positive integer
     */
    static int threads(String property) {
        if (property == null || property.isBlank()) {
            return 1;
        }
        try {
            int threads = Integer.parseInt(property.trim());
            if (threads >= 1) {
                return threads;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalStateException(THREADS_PROPERTY + " must be an integer >= 1, was '" + property + "'");
    }

    /**
     * The core type to put in {@code OPENBLAS_CORETYPE}, or empty to leave the environment as it
     * is; see the class documentation.
     *
     * @param property the value of {@value #CORETYPE_PROPERTY}
     * @param cpuFlags the CPU feature flags as {@code /proc/cpuinfo} names them
     * @param inherited the {@code OPENBLAS_CORETYPE} this process inherited, or null
     * @throws IllegalStateException if {@code property} is blank
     */
    static Optional<String> coreType(String property, Set<String> cpuFlags, String inherited) {
        String value = property.trim();
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "openblas" -> Optional.empty();
            case "auto" -> inherited == null && cpuFlags.containsAll(SKYLAKEX_FLAGS)
                    ? Optional.of("SkylakeX")
                    : Optional.empty();
            case "" -> throw new IllegalStateException(
                    CORETYPE_PROPERTY + " must be auto, openblas or an OpenBLAS core name, was empty");
            default -> Optional.of(value);
        };
    }

    private static SymbolLookup lookup() {
        String override = System.getProperty(PATH_PROPERTY);
        if (override != null) {
            Path path = Path.of(override);
            if (!Files.isRegularFile(path)) {
                throw new UnsatisfiedLinkError(PATH_PROPERTY + "=" + override + ": no such file");
            }
            return ResourceLibraries.lookup(path);
        }
        String platform = NativeLibraryLoader.platform(System.getProperty("os.name"), System.getProperty("os.arch"));
        String dir = "/org/bytedeco/openblas/" + platform + "/";
        if (!platform.startsWith("linux-")) {
            throw new UnsatisfiedLinkError("OpenBLAS is only set up for Linux, this is " + platform);
        }
        String library = dir + "libopenblas.so.0";
        if (OpenBlasLoader.class.getResource(library) == null) {
            throw new UnsatisfiedLinkError(library + " is not in the classpath: add the runtime dependency"
                    + " org.bytedeco:openblas with the classifier " + platform);
        }
        // libopenblas.so.0 finds libgfortran.so.5 beside it through its $ORIGIN run path.
        String gfortran = dir + "libgfortran.so.5";
        List<String> files = OpenBlasLoader.class.getResource(gfortran) == null
                ? List.of(library)
                : List.of(gfortran, library);
        return ResourceLibraries.extractAndLoad("softmax4j-openblas-", files);
    }

    /** Calls the C library's {@code setenv(name, value, 1)}. */
    private static void setenv(String name, String value) {
        Linker linker = Linker.nativeLinker();
        MemorySegment symbol = linker.defaultLookup().find("setenv")
                .orElseThrow(() -> new IllegalStateException("the C library has no setenv, needed to configure OpenBLAS"));
        MethodHandle setenv = linker.downcallHandle(symbol, FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        try (Arena arena = Arena.ofConfined()) {
            int status = (int) setenv.invokeExact(arena.allocateFrom(name), arena.allocateFrom(value), 1);
            if (status != 0) {
                throw new IllegalStateException("setenv(" + name + ", " + value + ") failed");
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("setenv(" + name + ") failed", t);
        }
    }

    /** The CPU flags of the first processor in {@code /proc/cpuinfo}, empty where there is none. */
    private static Set<String> cpuFlags() {
        return Set.copyOf(Arrays.asList(cpuinfoField("flags").split("\\s+")));
    }

    private static String cpuinfoField(String key) {
        try (var lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            return lines.filter(line -> line.startsWith(key) && line.indexOf(':') > 0)
                    .filter(line -> line.substring(0, line.indexOf(':')).trim().equals(key))
                    .map(line -> line.substring(line.indexOf(':') + 1).trim())
                    .findFirst()
                    .orElse("");
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }
}
