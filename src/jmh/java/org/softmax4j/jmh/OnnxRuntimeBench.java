package org.softmax4j.jmh;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Map;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Baseline: ONNX Runtime Java running a one-node LogSoftmax model ({@link OnnxLogSoftmaxModel}) on
 * one intra-op thread. Input and output are {@link OnnxTensor}s created once over direct buffers
 * that view the same native segments as the other benchmarks, so ONNX Runtime reads and writes them
 * without a copy; the output is pinned, so a call allocates no tensor, only its small
 * {@code Result}. Forward only: LogSoftmax has no gradient operator in ONNX Runtime's inference
 * build.
 */
public class OnnxRuntimeBench extends SegmentRows {
    private OrtSession.SessionOptions options;
    private OrtSession session;
    private OnnxTensor input;
    private OnnxTensor output;
    private Map<String, OnnxTensor> inputs;
    private Map<String, OnnxTensor> outputs;

    @Override
    protected void check() throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(1);
        options.setInterOpNumThreads(1);
        options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
        session = env.createSession(OnnxLogSoftmaxModel.bytes(rows, cols), options);
        long[] shape = {rows, cols};
        input = OnnxTensor.createTensor(env, floats(x), shape);
        output = OnnxTensor.createTensor(env, floats(y), shape);
        inputs = Map.of(OnnxLogSoftmaxModel.INPUT, input);
        outputs = Map.of(OnnxLogSoftmaxModel.OUTPUT, output);

        float[] expected = expectedForward();
        y.fill((byte) 0);
        forward();
        forward(); // twice: the pinned output must survive the first result's close
        TestData.requireClose("ONNX Runtime forward", expected, y.toArray(JAVA_FLOAT));
    }

    @TearDown(Level.Trial)
    public void closeSession() throws OrtException {
        input.close();
        output.close();
        session.close();
        options.close();
    }

    @Benchmark
    public void forward() throws OrtException {
        OrtSession.Result result = session.run(inputs, outputs);
        result.close();
    }

    private static FloatBuffer floats(MemorySegment segment) {
        return segment.asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
    }
}
