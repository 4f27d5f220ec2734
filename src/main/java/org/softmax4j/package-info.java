/**
 * Row-wise log-softmax, forward and backward, on float32 data, computed by native C kernels
 * through the Foreign Function and Memory API, or by a pure-Java fallback.
 *
 * <ul>
 *   <li>{@link org.softmax4j.Tensor} and {@link org.softmax4j.Shape}: float32 views of memory
 *       owned by an {@link java.lang.foreign.Arena} or a {@code float[]};
 *   <li>{@link org.softmax4j.LogSoftmax}: the operation, keeping its output for backward;
 *   <li>{@link org.softmax4j.Softmax4j}: stateless entries over raw arrays and segments, and
 *       which backend and kernel are in use.
 * </ul>
 *
 * <p>The native calls are restricted methods: run with
 * {@code --enable-native-access=ALL-UNNAMED} (or the module's name). Nothing under
 * {@code org.softmax4j.internal} is API.
 */
package org.softmax4j;
