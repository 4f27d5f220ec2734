package org.softmax4j.jmh;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Map;

/**
 * An ONNX Runtime session of a one-node model ({@link OnnxLogSoftmaxModel}) on one intra-op
 * thread, sequential, whose input and output tensors view native segments (no copy) and whose
 * output is pinned, so that {@link #run} allocates only its small {@code Result}.
 */
final class OnnxOneNode implements AutoCloseable {
    private final OrtSession.SessionOptions options;
    private final OrtSession session;
    private final OnnxTensor input;
    private final OnnxTensor output;
    private final Map<String, OnnxTensor> inputs;
    private final Map<String, OnnxTensor> outputs;

    OnnxOneNode(byte[] model, MemorySegment in, MemorySegment out, long... dims) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(1);
        options.setInterOpNumThreads(1);
        options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
        session = env.createSession(model, options);
        input = OnnxTensor.createTensor(env, floats(in), dims);
        output = OnnxTensor.createTensor(env, floats(out), dims);
        inputs = Map.of(OnnxLogSoftmaxModel.INPUT, input);
        outputs = Map.of(OnnxLogSoftmaxModel.OUTPUT, output);
    }

    /** One inference into the pinned output. */
    void run() throws OrtException {
        OrtSession.Result result = session.run(inputs, outputs);
        result.close();
    }

    @Override
    public void close() throws OrtException {
        input.close();
        output.close();
        session.close();
        options.close();
    }

    private static FloatBuffer floats(MemorySegment segment) {
        return segment.asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
    }
}
