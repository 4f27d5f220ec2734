package org.softmax4j.jmh;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import ai.onnxruntime.OrtException;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Baseline: ONNX Runtime Java running a one-node {@code Softmax(axis=1)} model on the same
 * {@code [n, c, s]} buffers as {@link SoftmaxDimBench} ({@link OnnxOneNode}: one intra-op thread,
 * input and pinned output viewing the native segments). Its output is checked against
 * Softmax4J's in the trial setup.
 */
public class OnnxSoftmaxDimBench extends DimTensors {
    private OnnxOneNode onnx;

    @Override
    protected void check() throws OrtException {
        onnx = new OnnxOneNode(OnnxLogSoftmaxModel.bytes("Softmax", 1, n, c, s), xt.segment(), gxt.segment(),
                n, c, s);
        forward();
        TestData.requireClose("ONNX Runtime Softmax(axis=1)", yt.segment().toArray(JAVA_FLOAT),
                gxt.segment().toArray(JAVA_FLOAT));
    }

    @TearDown(Level.Trial)
    public void closeSession() throws OrtException {
        onnx.close();
    }

    @Benchmark
    public void forward() throws OrtException {
        onnx.run();
    }
}
