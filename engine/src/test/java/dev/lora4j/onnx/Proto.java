package dev.lora4j.onnx;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Builds protobuf wire format by hand, field by field, so tests control every byte the reader sees. */
final class Proto {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Proto varint(int field, long value) {
        tag(field, 0);
        rawVarint(value);
        return this;
    }

    Proto fixed32(int field, int bits) {
        tag(field, 5);
        out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(bits).array());
        return this;
    }

    Proto float32(int field, float v) {
        return fixed32(field, Float.floatToRawIntBits(v));
    }

    Proto fixed64(int field, long bits) {
        tag(field, 1);
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(bits).array());
        return this;
    }

    Proto bytes(int field, byte[] b) {
        tag(field, 2);
        rawVarint(b.length);
        out.writeBytes(b);
        return this;
    }

    Proto string(int field, String s) {
        return bytes(field, s.getBytes(StandardCharsets.UTF_8));
    }

    Proto message(int field, Proto m) {
        return bytes(field, m.toBytes());
    }

    /** A packed repeated varint field. */
    Proto packedVarints(int field, long... values) {
        Proto p = new Proto();
        for (long v : values) {
            p.rawVarint(v);
        }
        return bytes(field, p.toBytes());
    }

    /** A packed repeated float field. */
    Proto packedFloats(int field, float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return bytes(field, b.array());
    }

    /** A raw tag with any wire type, for malformed input. */
    Proto tag(int field, int wireType) {
        rawVarint(((long) field << 3) | wireType);
        return this;
    }

    Proto rawVarint(long v) {
        while ((v & ~0x7fL) != 0) {
            out.write((int) ((v & 0x7f) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
        return this;
    }

    byte[] toBytes() {
        return out.toByteArray();
    }

    ByteBuffer buffer() {
        return ByteBuffer.wrap(toBytes());
    }
}
