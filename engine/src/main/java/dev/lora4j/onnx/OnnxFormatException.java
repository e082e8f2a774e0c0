package dev.lora4j.onnx;

/** An ONNX file that is not a well-formed model, or uses a feature this reader does not read; names the file. */
public final class OnnxFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public OnnxFormatException(String message) {
        super(message);
    }
}
