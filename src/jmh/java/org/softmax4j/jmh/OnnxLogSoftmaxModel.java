package org.softmax4j.jmh;

/**
 * A one-node ONNX model, {@code y = LogSoftmax(x, axis=-1)} at opset 13 on a float
 * {@code [rows, cols]} input, or any one-node {@code Softmax}/{@code LogSoftmax} over an axis of
 * a float tensor ({@link #bytes(String, long, long...)}), serialised by hand so that the benchmark
 * needs no protobuf library. Field numbers are those of onnx/onnx.proto.
 */
final class OnnxLogSoftmaxModel {
    private OnnxLogSoftmaxModel() {}

    static final String INPUT = "x";
    static final String OUTPUT = "y";

    /** ONNX IR version 7 (ONNX 1.8), the first to go with opset 13. */
    private static final long IR_VERSION = 7;
    private static final long OPSET = 13;
    /** TensorProto.DataType.FLOAT. */
    private static final long ELEM_FLOAT = 1;
    /** AttributeProto.AttributeType.INT. */
    private static final long ATTRIBUTE_INT = 2;

    static byte[] bytes(long rows, long cols) {
        return bytes("LogSoftmax", -1, rows, cols);
    }

    /** {@code y = opType(x, axis)}, opType {@code "Softmax"} or {@code "LogSoftmax"}, x of shape {@code dims}. */
    static byte[] bytes(String opType, long axisValue, long... dims) {
        ProtoWriter axis = new ProtoWriter()
                .string(1, "axis")            // AttributeProto.name
                .varint(3, axisValue)         // AttributeProto.i
                .varint(20, ATTRIBUTE_INT);   // AttributeProto.type
        ProtoWriter node = new ProtoWriter()
                .string(1, INPUT)             // NodeProto.input
                .string(2, OUTPUT)            // NodeProto.output
                .string(3, "node")            // NodeProto.name
                .string(4, opType)            // NodeProto.op_type
                .message(5, axis);            // NodeProto.attribute
        ProtoWriter graph = new ProtoWriter()
                .message(1, node)             // GraphProto.node
                .string(2, "one_node")        // GraphProto.name
                .message(11, valueInfo(INPUT, dims))    // GraphProto.input
                .message(12, valueInfo(OUTPUT, dims));  // GraphProto.output
        ProtoWriter opset = new ProtoWriter()
                .string(1, "")                // OperatorSetIdProto.domain: the default one
                .varint(2, OPSET);            // OperatorSetIdProto.version
        return new ProtoWriter()
                .varint(1, IR_VERSION)        // ModelProto.ir_version
                .string(2, "softmax4j-jmh")   // ModelProto.producer_name
                .message(7, graph)            // ModelProto.graph
                .message(8, opset)            // ModelProto.opset_import
                .toByteArray();
    }

    private static ProtoWriter valueInfo(String name, long... dims) {
        ProtoWriter shape = new ProtoWriter();
        for (long dim : dims) {
            shape.message(1, new ProtoWriter().varint(1, dim));  // TensorShapeProto.dim { dim_value }
        }
        ProtoWriter tensorType = new ProtoWriter()
                .varint(1, ELEM_FLOAT)        // TypeProto.Tensor.elem_type
                .message(2, shape);           // TypeProto.Tensor.shape
        ProtoWriter type = new ProtoWriter()
                .message(1, tensorType);      // TypeProto.tensor_type
        return new ProtoWriter()
                .string(1, name)              // ValueInfoProto.name
                .message(2, type);            // ValueInfoProto.type
    }
}
