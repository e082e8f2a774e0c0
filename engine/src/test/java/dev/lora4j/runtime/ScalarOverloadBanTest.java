package dev.lora4j.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * DJL's {@code NDArray.add(Number)} (and every other Number overload) frees its scalar while autograd may still read
 * it in backward: wrong gradients after a GC (DJL-NOTES pitfall 1). {@code NDArray.set(Buffer)} /
 * {@code JniUtils.set} make a tensor's storage point at a Java buffer the GC later frees (found by the resume test:
 * a restored adapter read freed memory and diverged). This test reads the engine's compiled classes and fails if any
 * of them calls such a method; scalars come from {@link Ops#scalar(double)}, copies from {@link Ops#assign}.
 */
class ScalarOverloadBanTest {

    @Test
    void noEngineClassCallsNumberOverloadsOfNdArray() throws IOException {
        Path classes = Path.of("target/classes");
        assertTrue(Files.isDirectory(classes), "run from the engine module");
        List<String> offenders = new ArrayList<>();
        int scanned = 0;
        try (Stream<Path> s = Files.walk(classes)) {
            for (Path p : s.filter(f -> f.toString().endsWith(".class")).toList()) {
                scanned++;
                try (InputStream in = Files.newInputStream(p)) {
                    for (String call : numberOverloadCalls(in)) {
                        offenders.add(classes.relativize(p) + " calls " + call);
                    }
                }
            }
        }
        assertTrue(scanned > 20, "scanned " + scanned + " classes");
        assertEquals(List.of(), offenders);
    }

    @Test
    void theScannerFindsACall() throws IOException {
        // a class compiled from this test source calls NDArray.mul(Number) on purpose
        try (InputStream in = ScalarOverloadBanTest.class.getResourceAsStream("ScalarOverloadBanTest$Bad.class")) {
            assertEquals(List.of("ai/djl/ndarray/NDArray.mul(Ljava/lang/Number;)Lai/djl/ndarray/NDArray;",
                    "ai/djl/pytorch/jni/JniUtils.set(Lai/djl/pytorch/engine/PtNDArray;Ljava/nio/ByteBuffer;)V"),
                    numberOverloadCalls(in));
        }
    }

    @SuppressWarnings("unused")
    private static final class Bad {
        static ai.djl.ndarray.NDArray twice(ai.djl.ndarray.NDArray a) {
            return a.mul(2);
        }

        static void alias(ai.djl.pytorch.engine.PtNDArray a, java.nio.ByteBuffer b) {
            ai.djl.pytorch.jni.JniUtils.set(a, b);
        }
    }

    /** Method references in a class file's constant pool to NDArray methods that take a java.lang.Number. */
    static List<String> numberOverloadCalls(InputStream classFile) throws IOException {
        DataInputStream in = new DataInputStream(classFile);
        if (in.readInt() != 0xCAFEBABE) {
            throw new IOException("not a class file");
        }
        in.readUnsignedShort();
        in.readUnsignedShort();
        int count = in.readUnsignedShort();
        String[] utf8 = new String[count];
        int[] classNames = new int[count];
        int[][] refs = new int[count][];
        int[][] nameAndTypes = new int[count][];
        for (int i = 1; i < count; i++) {
            int tag = in.readUnsignedByte();
            switch (tag) {
                case 1 -> utf8[i] = in.readUTF();
                case 3, 4 -> in.readInt();
                case 5, 6 -> {
                    in.readLong();
                    i++;
                }
                case 7 -> classNames[i] = in.readUnsignedShort();
                case 8, 16, 19, 20 -> in.readUnsignedShort();
                case 9, 10, 11 -> refs[i] = new int[] {tag, in.readUnsignedShort(), in.readUnsignedShort()};
                case 12 -> nameAndTypes[i] = new int[] {in.readUnsignedShort(), in.readUnsignedShort()};
                case 15 -> {
                    in.readUnsignedByte();
                    in.readUnsignedShort();
                }
                case 17, 18 -> {
                    in.readUnsignedShort();
                    in.readUnsignedShort();
                }
                default -> throw new IOException("unknown constant pool tag " + tag);
            }
        }
        List<String> calls = new ArrayList<>();
        for (int[] ref : refs) {
            if (ref == null || ref[0] == 9) {
                continue;
            }
            String owner = utf8[classNames[ref[1]]];
            int[] nat = nameAndTypes[ref[2]];
            String name = utf8[nat[0]];
            String desc = utf8[nat[1]];
            boolean ndArray = owner.equals("ai/djl/ndarray/NDArray") || owner.startsWith("ai/djl/pytorch/engine/PtNDArray");
            if (ndArray && desc.contains("Ljava/lang/Number;")) {
                calls.add(owner + "." + name + desc);
            }
            // set(Buffer) makes the tensor's storage point at Java memory the GC may free: use Ops.assign
            boolean aliasing = name.equals("set") && (desc.contains("Ljava/nio/") || desc.startsWith("([F)")
                    || desc.startsWith("([J)"));
            if ((ndArray || owner.equals("ai/djl/pytorch/jni/JniUtils")) && aliasing) {
                calls.add(owner + "." + name + desc);
            }
        }
        return calls;
    }
}
