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
 * Baseline: ONNX Runtime Java running a one-node {@code Softmax(axis=1)} model on the same
 * {@code [n, c, s]} buffers as {@link SoftmaxDimBench}, one intra-op thread, input and pinned
 * output viewing the native segments (no copy). Its output is checked against Softmax4J's in the
 * trial setup.
 */
public class OnnxSoftmaxDimBench extends DimTensors {
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
        session = env.createSession(OnnxLogSoftmaxModel.bytes("Softmax", 1, n, c, s), options);
        long[] dims = {n, c, s};
        input = OnnxTensor.createTensor(env, floats(xt.segment()), dims);
        output = OnnxTensor.createTensor(env, floats(gxt.segment()), dims);
        inputs = Map.of(OnnxLogSoftmaxModel.INPUT, input);
        outputs = Map.of(OnnxLogSoftmaxModel.OUTPUT, output);
        forward();
        TestData.requireClose("ONNX Runtime Softmax(axis=1)", yt.segment().toArray(JAVA_FLOAT),
                gxt.segment().toArray(JAVA_FLOAT));
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
