package dev.lora4j.safetensors;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.util.EnumSet;
import java.util.Set;

/**
 * Creates DJL NDArrays from safetensors tensors.
 *
 * <p>The mapped bytes go to {@link NDManager#create(java.nio.Buffer, Shape, DataType)}: a mapped buffer is direct, so
 * DJL's PyTorch engine wraps it with {@code torch.from_blob} without a Java-side copy. That tensor aliases the file
 * mapping, which is read-only (an in-place op would crash the JVM) and follows the file if it is rewritten in place, so
 * it is only a transient view: the returned array is a copy owned by libtorch ({@code duplicate()} for the same dtype,
 * a {@code toType} conversion otherwise), and the view is closed before returning. The array therefore stays valid
 * and unchanged after the file is closed or rewritten.
 *
 * <p>DJL 0.36's PyTorch JNI maps only FLOAT32, FLOAT64, FLOAT16, UINT8, INT32, INT8, INT64 and BOOLEAN to torch
 * types; any other data type reaches a bare C++ {@code throw;} and aborts the whole JVM. So BF16 and I16 tensors are
 * widened in Java (to FLOAT32 and INT32, both exact) before DJL sees them, and BFLOAT16 or INT16 targets are refused.
 */
public final class TensorLoader {
    private TensorLoader() {}

    /** The data types DJL's PyTorch engine can hold without aborting the JVM. */
    static final Set<DataType> ENGINE_TYPES = EnumSet.of(DataType.FLOAT32, DataType.FLOAT64, DataType.FLOAT16,
            DataType.UINT8, DataType.INT32, DataType.INT8, DataType.INT64, DataType.BOOLEAN);

    /**
     * The tensor in its own dtype where the engine has it (F16 stays FLOAT16); BF16 comes back as FLOAT32 and I16 as
     * INT32, exactly.
     */
    public static NDArray load(NDManager manager, TensorSource source, String name) throws IOException {
        return load(manager, source, name, engineType(source.info(name).dtype()));
    }

    /** The tensor converted to {@code target}, e.g. F16 or BF16 weights as FLOAT32; named after the tensor. */
    public static NDArray load(NDManager manager, TensorSource source, String name, DataType target)
            throws IOException {
        if (!ENGINE_TYPES.contains(target)) {
            throw new IllegalArgumentException("cannot load tensor '" + name + "' as " + target + ": DJL's PyTorch"
                    + " engine supports only " + ENGINE_TYPES + " (other types abort the JVM)");
        }
        TensorInfo info = source.info(name);
        Shape shape = new Shape(info.shape());
        NDArray result;
        if (info.numel() == 0) {
            // nothing to copy, and from_blob of an empty mapping gains nothing
            result = manager.create(shape, target);
        } else if (ENGINE_TYPES.contains(info.dtype().dataType())) {
            SafetensorsWriter.requireLittleEndianPlatform();
            ByteBuffer mapped = source.data(name);
            try (NDArray view = manager.create(mapped, shape, info.dtype().dataType())) {
                result = convert(view, target);
            } finally {
                unmap(mapped);
            }
        } else {
            try (NDArray widened = widen(manager, source, info, shape)) {
                result = convert(widened, target);
            }
        }
        result.setName(name);
        return result;
    }

    /** A new array owned by libtorch: torch's {@code to} returns its input when the dtype already matches. */
    private static NDArray convert(NDArray array, DataType target) {
        return array.getDataType() == target ? array.duplicate() : array.toType(target, true);
    }

    private static DataType engineType(DType dtype) {
        return switch (dtype) {
            case BF16 -> DataType.FLOAT32;
            case I16 -> DataType.INT32;
            default -> dtype.dataType();
        };
    }

    /** BF16 to FLOAT32 and I16 to INT32 in a direct buffer of our own, so DJL never sees a type it lacks. */
    private static NDArray widen(NDManager manager, TensorSource source, TensorInfo info, Shape shape)
            throws IOException {
        int count = Math.toIntExact(info.numel());
        if (count > Integer.MAX_VALUE / 4) {
            throw new IOException(source.fileOf(info.name()) + ": tensor '" + info.name() + "' (" + info.dtype()
                    + ", " + count + " elements) is too large to widen to 4 bytes per element in one buffer");
        }
        ByteBuffer narrow = source.data(info.name());
        // allocateDirect gives native order, which is what the engine reads
        ByteBuffer wide = manager.allocateDirect(count * 4);
        for (int i = 0; i < count; i++) {
            short bits = narrow.getShort(i * 2);
            wide.putInt(i * 4, info.dtype() == DType.BF16 ? (bits & 0xFFFF) << 16 : bits);
        }
        unmap(narrow);
        return manager.create(wide, shape, engineType(info.dtype()));
    }

    /** {@code sun.misc.Unsafe.invokeCleaner}, or null where the JDK does not offer it. */
    private static final Method INVOKE_CLEANER;
    private static final Object UNSAFE;

    static {
        Method m = null;
        Object u = null;
        try {
            Class<?> c = Class.forName("sun.misc.Unsafe");
            Field f = c.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            u = f.get(null);
            m = c.getMethod("invokeCleaner", ByteBuffer.class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            // no explicit unmapping: mappings then go when the garbage collector finds them
        }
        INVOKE_CLEANER = m;
        UNSAFE = u;
    }

    /**
     * Unmaps a tensor's mapping once its bytes are copied. Java unmaps a buffer only when the garbage collector
     * collects it, which loading a model rarely triggers (the buffers are tiny on the heap); until then every page
     * read stays mapped and counts in the process's resident memory, so loading a 4 GiB checkpoint peaked at twice
     * its size (the mapped file and the copies). Only called when nothing refers to the mapping any more (the view
     * over it is closed).
     */
    private static void unmap(ByteBuffer buffer) {
        if (INVOKE_CLEANER == null || !(buffer instanceof MappedByteBuffer)) {
            return;
        }
        try {
            INVOKE_CLEANER.invoke(UNSAFE, buffer);
        } catch (ReflectiveOperationException | RuntimeException e) {
            // a slice or duplicate has no cleaner of its own: the garbage collector unmaps it
        }
    }
}
