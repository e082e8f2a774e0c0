package dev.lora4j.onnx;

import java.util.Optional;

/** ONNX's {@code TensorProto.DataType} values that hold fixed-size elements, with their size in bytes. */
public enum OnnxType {
    FLOAT(1, 4),
    UINT8(2, 1),
    INT8(3, 1),
    UINT16(4, 2),
    INT16(5, 2),
    INT32(6, 4),
    INT64(7, 8),
    BOOL(9, 1),
    FLOAT16(10, 2),
    DOUBLE(11, 8),
    UINT32(12, 4),
    UINT64(13, 8),
    COMPLEX64(14, 8),
    COMPLEX128(15, 16),
    BFLOAT16(16, 2);

    private final int code;
    private final int bytes;

    OnnxType(int code, int bytes) {
        this.code = code;
        this.bytes = bytes;
    }

    /** The number in the file. */
    public int code() {
        return code;
    }

    /** Bytes per element in {@code raw_data}. */
    public int bytes() {
        return bytes;
    }

    /** The type with this code; empty for strings, sub-byte and 8-bit float types, and unknown codes. */
    public static Optional<OnnxType> of(int code) {
        for (OnnxType t : values()) {
            if (t.code == code) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }
}
