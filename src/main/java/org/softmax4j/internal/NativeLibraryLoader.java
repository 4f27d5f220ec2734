package org.softmax4j.internal;

import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Finds and loads the native library.
 *
 * <p>The library travels inside the jar as the resource {@code /native/<platform>/<file>}, for
 * example {@code /native/linux-x86_64/libsoftmax4j.so}; {@link ResourceLibraries} copies it to a
 * private temporary directory, loads it and deletes the copy.
 *
 * <p>The system property {@value #LIBRARY_PATH_PROPERTY} names a library file to load instead,
 * for developers testing a local build.
 */
final class NativeLibraryLoader {
    static final String LIBRARY_PATH_PROPERTY = "softmax4j.library.path";
    static final String LIBRARY_NAME = "softmax4j";

    private NativeLibraryLoader() {}

    /**
     * Loads the library into the global arena: it stays loaded until the JVM exits.
     *
     * @throws UnsatisfiedLinkError saying why, if anything fails
     */
    static SymbolLookup load() {
        String override = System.getProperty(LIBRARY_PATH_PROPERTY);
        if (override != null) {
            Path path = Path.of(override);
            if (!Files.isRegularFile(path)) {
                throw new UnsatisfiedLinkError(LIBRARY_PATH_PROPERTY + "=" + override + ": no such file");
            }
            return ResourceLibraries.lookup(path);
        }
        String platform = platform(System.getProperty("os.name"), System.getProperty("os.arch"));
        String resource = "/native/" + platform + "/" + System.mapLibraryName(LIBRARY_NAME);
        if (NativeLibraryLoader.class.getResource(resource) == null) {
            throw new UnsatisfiedLinkError(
                    "no native library for " + platform + " in the classpath (looked for " + resource + ")");
        }
        return ResourceLibraries.extractAndLoad("softmax4j-", List.of(resource));
    }

    /**
     * The directory name of the library for a platform, like {@code linux-x86_64}.
     *
     * @throws UnsatisfiedLinkError if the OS or the architecture is not one we build for
     */
    static String platform(String osName, String osArch) {
        String os = osName == null ? "" : osName.toLowerCase(Locale.ROOT);
        String arch = osArch == null ? "" : osArch.toLowerCase(Locale.ROOT);
        String osPart;
        if (os.startsWith("linux")) {
            osPart = "linux";
        } else if (os.startsWith("mac") || os.startsWith("darwin")) {
            osPart = "macos";
        } else if (os.startsWith("windows")) {
            osPart = "windows";
        } else {
            throw new UnsatisfiedLinkError("unsupported operating system: os.name=" + osName);
        }
        String archPart = switch (arch) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> throw new UnsatisfiedLinkError("unsupported architecture: os.arch=" + osArch);
        };
        return osPart + "-" + archPart;
    }
}
