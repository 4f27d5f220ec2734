package org.softmax4j.internal;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Locale;

/**
 * Finds and loads the native library.
 *
 * <p>The library travels inside the jar as the resource {@code /native/<platform>/<file>}, for
 * example {@code /native/linux-x86_64/libsoftmax4j.so}. A resource cannot be mapped, so it is
 * copied to a fresh directory that only this user can read, and loaded from there. On Linux the
 * copy is deleted right after loading (the mapping stays valid until the process ends), so no
 * file is left behind even when the JVM is killed; elsewhere it is deleted on exit.
 *
 * <p>The system property {@value #LIBRARY_PATH_PROPERTY} names a library file to load instead,
 * for developers testing a local build.
 */
@SuppressWarnings("restricted")
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
            return lookup(path);
        }
        String platform = platform(System.getProperty("os.name"), System.getProperty("os.arch"));
        String resource = "/native/" + platform + "/" + System.mapLibraryName(LIBRARY_NAME);
        try (InputStream in = NativeLibraryLoader.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new UnsatisfiedLinkError(
                        "no native library for " + platform + " in the classpath (looked for " + resource + ")");
            }
            return extractAndLoad(in, resource);
        } catch (IOException e) {
            throw linkError("cannot extract " + resource + ": " + e, e);
        }
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

    private static SymbolLookup extractAndLoad(InputStream in, String resource) throws IOException {
        boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
        Path dir = posix
                ? Files.createTempDirectory("softmax4j-", ownerOnly("rwx------"))
                : Files.createTempDirectory("softmax4j-");
        Path file = dir.resolve(System.mapLibraryName(LIBRARY_NAME));
        boolean loaded = false;
        try {
            if (posix) {
                Files.createFile(file, ownerOnly("rw-------"));
                try (var out = Files.newOutputStream(file)) {
                    in.transferTo(out);
                }
            } else {
                Files.copy(in, file);
            }
            SymbolLookup lookup = lookup(file);
            loaded = true;
            return lookup;
        } finally {
            if (!loaded || isLinux()) {
                // On Linux an unlinked shared object stays mapped; elsewhere try now, then at exit.
                deleteQuietly(file);
                deleteQuietly(dir);
            }
            if (loaded && !isLinux()) {
                dir.toFile().deleteOnExit(); // deleted in reverse order: the file, then its directory
                file.toFile().deleteOnExit();
            }
        }
    }

    private static SymbolLookup lookup(Path path) {
        try {
            return SymbolLookup.libraryLookup(path, Arena.global());
        } catch (IllegalArgumentException e) {
            throw linkError("cannot load " + path + ": " + e.getMessage(), e);
        }
    }

    private static FileAttribute<?> ownerOnly(String permissions) {
        return PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(permissions));
    }

    private static boolean isLinux() {
        return System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux");
    }

    private static void deleteQuietly(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException ignored) {
            // a file that cannot be deleted now is left for deleteOnExit or the temp cleaner
        }
    }

    private static UnsatisfiedLinkError linkError(String message, Throwable cause) {
        UnsatisfiedLinkError error = new UnsatisfiedLinkError(message);
        error.initCause(cause);
        return error;
    }
}
