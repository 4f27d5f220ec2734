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
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Loads shared libraries that travel inside a jar: our own library and the OpenBLAS one.
 *
 * <p>A resource cannot be mapped, so the files are copied to a fresh directory that only this user
 * can read, and the last one is loaded from there. All files of one call go to the same
 * directory, so a library finds the others it needs through an {@code $ORIGIN} run path. On Linux
 * the copies are deleted right after loading (the mappings stay valid until the process ends), so
 * no file is left behind even when the JVM is killed; elsewhere they are deleted on exit.
 */
@SuppressWarnings("restricted")
final class ResourceLibraries {
    private ResourceLibraries() {}

    /**
     * Copies each resource (an absolute classpath name) into one temporary directory under its own
     * file name, then loads the last one into the global arena: it stays loaded until the JVM exits.
     *
     * @param tempPrefix the start of the temporary directory's name
     * @throws UnsatisfiedLinkError saying why, if a resource is missing or anything else fails
     */
    static SymbolLookup extractAndLoad(String tempPrefix, List<String> resources) {
        if (resources.isEmpty()) {
            throw new IllegalArgumentException("resources must not be empty");
        }
        boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
        List<Path> files = new ArrayList<>();
        Path dir;
        try {
            dir = posix
                    ? Files.createTempDirectory(tempPrefix, ownerOnly("rwx------"))
                    : Files.createTempDirectory(tempPrefix);
        } catch (IOException e) {
            throw linkError("cannot create a temporary directory for " + resources + ": " + e, e);
        }
        boolean loaded = false;
        try {
            for (String resource : resources) {
                files.add(extract(resource, dir, posix));
            }
            SymbolLookup lookup = lookup(files.getLast());
            loaded = true;
            return lookup;
        } finally {
            if (!loaded || isLinux()) {
                // On Linux an unlinked shared object stays mapped; elsewhere try now, then at exit.
                files.forEach(ResourceLibraries::deleteQuietly);
                deleteQuietly(dir);
            }
            if (loaded && !isLinux()) {
                dir.toFile().deleteOnExit(); // deleted in reverse order: the files, then their directory
                files.forEach(file -> file.toFile().deleteOnExit());
            }
        }
    }

    /**
     * Loads the library file at {@code path} into the global arena.
     *
     * @throws UnsatisfiedLinkError with the loader's message if it cannot be loaded
     */
    static SymbolLookup lookup(Path path) {
        try {
            return SymbolLookup.libraryLookup(path, Arena.global());
        } catch (IllegalArgumentException e) {
            throw linkError("cannot load " + path + ": " + e.getMessage(), e);
        }
    }

    static boolean isLinux() {
        return System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux");
    }

    static UnsatisfiedLinkError linkError(String message, Throwable cause) {
        UnsatisfiedLinkError error = new UnsatisfiedLinkError(message);
        error.initCause(cause);
        return error;
    }

    private static Path extract(String resource, Path dir, boolean posix) {
        Path file = dir.resolve(resource.substring(resource.lastIndexOf('/') + 1));
        try (InputStream in = ResourceLibraries.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new UnsatisfiedLinkError("not in the classpath: " + resource);
            }
            if (posix) {
                Files.createFile(file, ownerOnly("rw-------"));
                try (var out = Files.newOutputStream(file)) {
                    in.transferTo(out);
                }
            } else {
                Files.copy(in, file);
            }
            return file;
        } catch (IOException e) {
            deleteQuietly(file);
            throw linkError("cannot extract " + resource + ": " + e, e);
        }
    }

    private static FileAttribute<?> ownerOnly(String permissions) {
        return PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(permissions));
    }

    private static void deleteQuietly(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException ignored) {
            // a file that cannot be deleted now is left for deleteOnExit or the temp cleaner
        }
    }
}
