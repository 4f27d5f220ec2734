/**
 * Not API: the backends behind {@link org.softmax4j.Softmax4j} and
 * {@link org.softmax4j.LogSoftmax}, and the argument checks they share.
 *
 * <ul>
 *   <li>{@link org.softmax4j.internal.Backends}: chooses a backend once, with its fallback rule;
 *   <li>{@link org.softmax4j.internal.NativeBackend}: the C kernels, dispatched or pinned by name,
 *       over {@code NativeBindings} (the FFM downcall handles) and {@code NativeLibraryLoader};
 *   <li>{@link org.softmax4j.internal.JavaBackend}: the pure-Java kernels;
 *   <li>{@link org.softmax4j.internal.Checks}: sizes, bounds, arenas, alignment and aliasing.
 * </ul>
 */
package org.softmax4j.internal;
