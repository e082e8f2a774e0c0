package dev.lora4j.run;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A device trials run on: the CPU, or one GPU by index. Written {@code cpu} or {@code gpu:N}. */
public record Device(Kind kind, int index) {
    public enum Kind { CPU, GPU }

    private static final Pattern GPU = Pattern.compile("gpu:(\\d{1,4})");

    public static final Device CPU = new Device(Kind.CPU, 0);

    public static Device gpu(int index) {
        return new Device(Kind.GPU, index);
    }

    public static Optional<Device> parse(String s) {
        if (s.equals("cpu")) {
            return Optional.of(CPU);
        }
        Matcher m = GPU.matcher(s);
        return m.matches() ? Optional.of(gpu(Integer.parseInt(m.group(1)))) : Optional.empty();
    }

    @Override
    public String toString() {
        return kind == Kind.CPU ? "cpu" : "gpu:" + index;
    }
}
