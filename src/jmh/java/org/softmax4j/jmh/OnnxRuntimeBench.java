package org.softmax4j.jmh;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;

import ai.onnxruntime.OrtException;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Baseline: ONNX Runtime Java running a one-node LogSoftmax model ({@link OnnxLogSoftmaxModel}) on
 * one intra-op thread ({@link OnnxOneNode}): input and output view the same native segments as the
 * other benchmarks, so ONNX Runtime reads and writes them without a copy; the output is pinned, so
 * a call allocates no tensor, only its small {@code Result}. Forward only: LogSoftmax has no
 * gradient operator in ONNX Runtime's inference build.
 */
public class OnnxRuntimeBench extends SegmentRows {
    private OnnxOneNode onnx;

    @Override
    protected void check() throws OrtException {
        onnx = new OnnxOneNode(OnnxLogSoftmaxModel.bytes(rows, cols), x, y, rows, cols);
        float[] expected = expectedForward();
        y.fill((byte) 0);
        forward();
        forward(); // twice: the pinned output must survive the first result's close
        TestData.requireClose("ONNX Runtime forward", expected, y.toArray(JAVA_FLOAT));
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
