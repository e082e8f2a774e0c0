package dev.lora4j.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Reads one protobuf message in wire format, field by field. Length-delimited fields come back as slices of the same
 * buffer, so a memory-mapped model is never copied just to be parsed.
 */
final class ProtoReader {
    static final int VARINT = 0;
    static final int FIXED64 = 1;
    static final int LENGTH_DELIMITED = 2;
    static final int FIXED32 = 5;

    private final ByteBuffer buf;
    private final String source;
    /** Offset of {@code buf}'s position 0 in the file, so errors point at the right byte. */
    private final long base;
    private int tag;

    ProtoReader(ByteBuffer message, String source) {
        this(message, source, 0);
    }

    private ProtoReader(ByteBuffer message, String source, long base) {
        this.buf = message.slice().order(ByteOrder.LITTLE_ENDIAN);
        this.source = source;
        this.base = base;
    }

    boolean hasRemaining() {
        return buf.hasRemaining();
    }

    /** Moves to the next field; false at the end of the message. */
    boolean next() {
        if (!buf.hasRemaining()) {
            return false;
        }
        long t = varint();
        if (t >>> 32 != 0 || (t >>> 3) == 0) {
            throw error("invalid field tag " + t);
        }
        tag = (int) t;
        return true;
    }

    int field() {
        return tag >>> 3;
    }

    int wireType() {
        return tag & 7;
    }

    long varint() {
        long value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            need(1);
            byte b = buf.get();
            value |= (long) (b & 0x7f) << shift;
            if (b >= 0) {
                return value;
            }
        }
        throw error("varint longer than 10 bytes");
    }

    int fixed32() {
        need(4);
        return buf.getInt();
    }

    long fixed64() {
        need(8);
        return buf.getLong();
    }

    /** The bytes of a length-delimited field, as a little-endian slice of the message. */
    ByteBuffer bytes() {
        long n = varint();
        if (n < 0 || n > buf.remaining()) {
            throw error("length " + n + " runs past the end of the message (" + buf.remaining() + " bytes left)");
        }
        return take((int) n);
    }

    String string() {
        ByteBuffer b = bytes();
        byte[] s = new byte[b.remaining()];
        b.get(s);
        return new String(s, StandardCharsets.UTF_8);
    }

    /** A reader over the current length-delimited field: an embedded message, or a packed repeated field. */
    ProtoReader message() {
        ByteBuffer b = bytes();
        return new ProtoReader(b, source, base + buf.position() - b.remaining());
    }

    /** Skips the current field's value, whatever it is. */
    void skip() {
        switch (wireType()) {
            case VARINT -> varint();
            case FIXED64 -> fixed64();
            case LENGTH_DELIMITED -> bytes();
            case FIXED32 -> fixed32();
            default -> throw error("field " + field() + " has wire type " + wireType()
                    + " (groups are not used by ONNX; expected 0, 1, 2 or 5)");
        }
    }

    /** Fails unless the current field has the given wire type. */
    void expect(int wireType, String what) {
        if (wireType() != wireType) {
            throw error(what + " (field " + field() + ") has wire type " + wireType() + ", expected " + wireType);
        }
    }

    OnnxFormatException error(String what) {
        return new OnnxFormatException(source + ": " + what + " at byte " + (base + buf.position()));
    }

    private void need(int n) {
        if (buf.remaining() < n) {
            throw error("message ends in the middle of a field (needed " + n + " bytes, " + buf.remaining()
                    + " left)");
        }
    }

    private ByteBuffer take(int n) {
        need(n);
        ByteBuffer s = buf.slice(buf.position(), n).order(ByteOrder.LITTLE_ENDIAN);
        buf.position(buf.position() + n);
        return s;
    }
}
