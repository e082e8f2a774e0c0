package dev.lora4j.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/** Reads a JSON-lines file record by record, with the line number of each. */
final class JsonlSource {
    static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private static final int SHOWN_CHARS = 40;

    private JsonlSource() {}

    /**
     * Splits on bytes rather than through a Reader so that each line number is exact even when a line is not valid
     * UTF-8: Jackson decodes (and rejects) each line's bytes itself.
     */
    static void read(Path file, Problems problems, Fields.Sink sink) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] chunk = new byte[1 << 16];
            byte[] line = new byte[1024];
            int len = 0;
            int lineNo = 1;
            int n;
            while ((n = in.read(chunk)) > 0) {
                int start = 0;
                for (int i = 0; i < n; i++) {
                    if (chunk[i] == '\n') {
                        line = append(line, len, chunk, start, i - start);
                        len += i - start;
                        parse(line, len, lineNo++, problems, sink);
                        len = 0;
                        start = i + 1;
                    }
                }
                line = append(line, len, chunk, start, n - start);
                len += n - start;
            }
            parse(line, len, lineNo, problems, sink);
        }
    }

    private static byte[] append(byte[] line, int len, byte[] src, int from, int count) {
        byte[] out = len + count <= line.length ? line : Arrays.copyOf(line, Math.max(2 * line.length, len + count));
        System.arraycopy(src, from, out, len, count);
        return out;
    }

    private static void parse(byte[] line, int len, int lineNo, Problems problems, Fields.Sink sink) {
        int start = 0;
        if (lineNo == 1 && len >= 3 && line[0] == (byte) 0xEF && line[1] == (byte) 0xBB && line[2] == (byte) 0xBF) {
            start = 3; // a UTF-8 byte order mark, as editors on Windows write
        }
        if (isBlank(line, start, len)) {
            return;
        }
        JsonNode node;
        try {
            node = JSON.readTree(line, start, len - start);
        } catch (JsonProcessingException e) {
            problems.add(lineNo, "invalid JSON: " + e.getOriginalMessage());
            return;
        } catch (IOException e) {
            problems.add(lineNo, "cannot read: " + e.getMessage());
            return;
        }
        if (!node.isObject()) {
            problems.add(lineNo, "expected a JSON object {...}, found " + show(node));
            return;
        }
        sink.accept(new JsonFields(lineNo, node));
    }

    private static boolean isBlank(byte[] b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (b[i] != ' ' && b[i] != '\t' && b[i] != '\r') {
                return false;
            }
        }
        return true;
    }

    /** A JSON value as a user would recognise it in their file, cut short. */
    static String show(JsonNode node) {
        String s = node.toString();
        return s.length() <= SHOWN_CHARS ? s : s.substring(0, SHOWN_CHARS) + "...";
    }

    /** The integers of a JSON array; anything else is the row's error. */
    static long[] integers(String name, JsonNode node) throws Fields.BadRow {
        if (!node.isArray()) {
            throw new Fields.BadRow(RowShape.quote(name) + " must be a list of integers, found " + show(node));
        }
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong()) {
                throw new Fields.BadRow(RowShape.quote(name) + " must be a list of integers, found " + show(v)
                        + " at index " + i);
            }
            out[i] = v.longValue();
        }
        return out;
    }

    private record JsonFields(int line, JsonNode node) implements Fields {
        @Override
        public Set<String> names() {
            Set<String> names = new LinkedHashSet<>();
            for (Map.Entry<String, JsonNode> e : node.properties()) {
                if (!e.getValue().isNull()) {
                    names.add(e.getKey());
                }
            }
            return names;
        }

        @Override
        public String absent(String name) {
            return node.has(name) ? RowShape.quote(name) + " is null" : "missing " + RowShape.quote(name);
        }

        @Override
        public String string(String name) throws BadRow {
            JsonNode v = node.get(name);
            if (!v.isTextual()) {
                throw new BadRow(RowShape.quote(name) + " must be a string, found " + show(v));
            }
            return v.textValue();
        }

        @Override
        public long[] longs(String name) throws BadRow {
            return integers(name, node.get(name));
        }

        @Override
        public LabelValue label(String name) throws BadRow {
            JsonNode v = node.get(name);
            if (v.isIntegralNumber() && v.canConvertToLong()) {
                return new LabelValue.Id(v.longValue());
            }
            if (v.isTextual()) {
                return new LabelValue.Name(v.textValue());
            }
            throw new BadRow(RowShape.quote(name) + " must be a class id (0, 1, ...) or a label name, found "
                    + show(v));
        }
    }
}
