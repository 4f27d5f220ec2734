package org.softmax4j.jmh;

/**
 * A one-node ONNX model, {@code y = LogSoftmax(x, axis=-1)} at opset 13 on a float
 * {@code [rows, cols]} input, serialised by hand so that the benchmark needs no protobuf library.
 * Field numbers are those of onnx/onnx.proto.
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
        ProtoWriter axis = new ProtoWriter()
                .string(1, "axis")            // AttributeProto.name
                .varint(3, -1)                // AttributeProto.i
                .varint(20, ATTRIBUTE_INT);   // AttributeProto.type
        ProtoWriter node = new ProtoWriter()
                .string(1, INPUT)             // NodeProto.input
                .string(2, OUTPUT)            // NodeProto.output
                .string(3, "log_softmax")     // NodeProto.name
                .string(4, "LogSoftmax")      // NodeProto.op_type
                .message(5, axis);            // NodeProto.attribute
        ProtoWriter graph = new ProtoWriter()
                .message(1, node)             // GraphProto.node
                .string(2, "log_softmax")     // GraphProto.name
                .message(11, valueInfo(INPUT, rows, cols))    // GraphProto.input
                .message(12, valueInfo(OUTPUT, rows, cols));  // GraphProto.output
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

    private static ProtoWriter valueInfo(String name, long rows, long cols) {
        ProtoWriter shape = new ProtoWriter()
                .message(1, new ProtoWriter().varint(1, rows))   // TensorShapeProto.dim { dim_value }
                .message(1, new ProtoWriter().varint(1, cols));
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
