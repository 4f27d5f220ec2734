package org.softmax4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.softmax4j.internal.Losses;
import org.softmax4j.internal.TestBackends;

/**
 * Our losses against PyTorch's own numbers: the table {@code pytorch-cross-entropy.csv}, printed
 * by {@code src/test/python/gen_cross_entropy_cases.py} with PyTorch 1.13.1 (the format is
 * described there). Every case runs on every backend, and the class-index cases both as int64
 * (what PyTorch took) and as int32.
 *
 * <p>Bound: {@code |ours - torch| <= 4e-6 * |torch| + 1e-6}. PyTorch computes in float32
 * (log-softmax rounded to float, then summed in float), we in double rounded once; the
 * difference is a few float32 ulps of the inputs' magnitude (the logits reach about 10, whose ulp
 * is 1e-6). Infinities and NaN must match exactly.
 */
class PyTorchGoldenTest {
    static final String RESOURCE = "pytorch-cross-entropy.csv";

    record Case(String name, String op, String kind, long[] shape, Reduction reduction, long ignoreIndex,
            float smoothing, float[] input, String[] target, float[] weight, float[] gradLoss, float[] loss,
            float[] grad) {
        @Override
        public String toString() {
            return name + " " + op + " " + kind + " " + Arrays.toString(shape) + " " + reduction + " ignore="
                    + ignoreIndex + " eps=" + smoothing + (weight == null ? "" : " weighted");
        }
    }

    static List<Case> table() {
        List<Case> cases = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(
                Objects.requireNonNull(PyTorchGoldenTest.class.getResourceAsStream(RESOURCE), RESOURCE),
                StandardCharsets.UTF_8))) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] f = line.split(";", -1);
                assertEquals(13, f.length, "fields in: " + line);
                cases.add(new Case(f[0], f[1], f[2],
                        Arrays.stream(f[3].split("x")).mapToLong(Long::parseLong).toArray(),
                        Reduction.valueOf(f[4].toUpperCase(Locale.ROOT)), Long.parseLong(f[5]),
                        Float.parseFloat(f[6]), floats(f[7]), f[8].split(" "), optional(f[9]), optional(f[10]),
                        floats(f[11]), floats(f[12])));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return cases;
    }

    static Stream<Arguments> cases() {
        List<Case> table = table();
        assertTrue(table.size() >= 100, "the table has " + table.size() + " cases");
        List<Arguments> arguments = new ArrayList<>();
        for (String backend : TestBackends.names().toList()) {
            for (Case c : table) {
                for (DType indexType : c.kind.equals("index") ? List.of(DType.INT64, DType.INT32) : List.of(DType.FLOAT32)) {
                    arguments.add(Arguments.of(backend, indexType, c));
                }
            }
        }
        return arguments.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("cases")
    void matchesPyTorch(String backend, DType targetType, Case c) {
        Losses losses = TestBackends.get(backend).losses();
        try (Arena arena = Arena.ofConfined()) {
            LossOptions options = new LossOptions(c.reduction,
                    c.weight == null ? null : Tensor.copyOf(arena, c.weight, c.weight.length), c.ignoreIndex, c.smoothing);
            long[] positions = new long[c.shape.length - 1];
            positions[0] = c.shape[0];
            System.arraycopy(c.shape, 2, positions, 1, c.shape.length - 2);
            Tensor target = switch (targetType) {
                case INT64 -> Tensor.copyOf(arena, Arrays.stream(c.target).mapToLong(Long::parseLong).toArray(), positions);
                case INT32 -> Tensor.wrap(Arrays.stream(c.target).mapToInt(Integer::parseInt).toArray(), positions);
                case FLOAT32 -> Tensor.copyOf(arena, floats(String.join(" ", c.target)), c.shape);
                default -> throw new AssertionError("no golden targets of type " + targetType);
            };
            Tensor input = Tensor.copyOf(arena, c.input, c.shape);
            Tensor loss;
            Tensor grad;
            if (c.op.equals("cross_entropy")) {
                CrossEntropy op = new CrossEntropy(options, losses);
                loss = op.forward(input, target, arena);
                grad = c.gradLoss == null ? op.backward(1f, arena) : op.backward(Tensor.copyOf(arena, c.gradLoss, positions), arena);
            } else {
                NllLoss op = new NllLoss(options, losses);
                loss = op.forward(input, target, arena);
                grad = c.gradLoss == null ? op.backward(1f, arena) : op.backward(Tensor.copyOf(arena, c.gradLoss, positions), arena);
            }
            assertArrayEquals(c.reduction == Reduction.NONE ? positions : new long[] {1}, loss.shape().dims());
            compare("loss", c.loss, loss.toArray());
            compare("grad", c.grad, grad.toArray());
        }
    }

    private static void compare(String what, float[] want, float[] got) {
        assertEquals(want.length, got.length, what + " length");
        for (int i = 0; i < want.length; i++) {
            float w = want[i];
            boolean ok = Float.isNaN(w) ? Float.isNaN(got[i])
                    : Float.isInfinite(w) ? got[i] == w
                    : Math.abs(got[i] - w) <= 4e-6 * Math.abs(w) + 1e-6;
            if (!ok) {
                fail(what + "[" + i + "]: got " + got[i] + ", PyTorch " + w);
            }
        }
    }

    private static float[] floats(String field) {
        String[] parts = field.split(" ");
        float[] values = new float[parts.length];
        for (int i = 0; i < parts.length; i++) {
            values[i] = switch (parts[i]) {
                case "inf" -> Float.POSITIVE_INFINITY;
                case "-inf" -> Float.NEGATIVE_INFINITY;
                case "nan" -> Float.NaN;
                default -> Float.parseFloat(parts[i]);
            };
        }
        return values;
    }

    private static float[] optional(String field) {
        return field.equals("-") ? null : floats(field);
    }
}
