package dev.lora4j.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a config file into a JSON tree, turning every way a file can fail to be a config (missing, empty, a Git LFS
 * pointer, a weights file, malformed JSON or YAML) into one clear {@link ConfigException} naming the file.
 */
public final class Documents {
    /** Configs are small; anything larger is certainly the wrong file and is not read into memory. */
    public static final long MAX_BYTES = 16L << 20;

    private static final String LFS_HEADER = "version https://git-lfs.github.com/spec/v1";
    private static final Pattern LFS_OID = Pattern.compile("(?m)^oid (\\S+)");
    private static final Pattern LFS_SIZE = Pattern.compile("(?m)^size (\\d+)");

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private Documents() {}

    /** Parses {@code file} as JSON when it looks like JSON (by extension or first character), else as YAML. */
    public static JsonNode read(Path file) {
        byte[] bytes = bytes(file);
        String text = decode(file, bytes);
        try {
            return parse(text, looksLikeJson(file, text));
        } catch (ConfigException e) {
            throw e.withFile(file);
        }
    }

    /** Parses text already in memory; errors carry no file name. */
    public static JsonNode parse(String text, boolean json) {
        String t = text.startsWith("\uFEFF") ? text.substring(1) : text;
        if (t.isBlank()) {
            throw ConfigException.ofFile(null, "empty file: expected a JSON or YAML config");
        }
        if (t.startsWith(LFS_HEADER)) {
            throw ConfigException.ofFile(null, lfsMessage(t));
        }
        try {
            if (!json) {
                rejectAliases(t);
            }
            JsonNode n = (json ? JSON : YAML).readTree(t);
            if (n == null || n.isMissingNode()) {
                throw ConfigException.ofFile(null, "empty document: expected a JSON or YAML config");
            }
            return n;
        } catch (JsonProcessingException e) {
            throw ConfigException.ofFile(null, syntaxMessage(json, e));
        } catch (IOException e) {
            // parsing text in memory does no I/O
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * Jackson reads a YAML alias ({@code *name}) as the string {@code "name"}, so a config using anchors would be
     * misread without a word (and a "billion laughs" file is only harmless because nothing is expanded). An alias is
     * refused with its place in the file instead.
     */
    private static void rejectAliases(String text) throws IOException {
        try (YAMLParser p = (YAMLParser) YAML.getFactory().createParser(text)) {
            while (p.nextToken() != null) {
                if (p.isCurrentAlias()) {
                    JsonLocation at = p.currentTokenLocation();
                    throw ConfigException.ofFile(null, "YAML alias *" + p.getText() + " at line " + at.getLineNr()
                            + ", column " + at.getColumnNr() + ": lora4j does not expand YAML anchors and aliases"
                            + " (&name, *name, <<: *name); write the value out in full");
                }
            }
        }
    }

    private static byte[] bytes(Path file) {
        try {
            if (Files.isDirectory(file)) {
                throw ConfigException.ofFile(file, "is a directory, expected a config file");
            }
            long size = Files.size(file);
            if (size > MAX_BYTES) {
                throw ConfigException.ofFile(file, "too large for a config file (" + size + " bytes)");
            }
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw ConfigException.ofFile(file, "no such file");
        } catch (IOException e) {
            throw ConfigException.ofFile(file, "cannot be read: " + e.getMessage());
        }
    }

    private static String decode(Path file, byte[] bytes) {
        if (isSafetensors(bytes)) {
            throw ConfigException.ofFile(file, "this is a safetensors weights file, not a config: pass the "
                    + "adapter_config.json next to it, or the folder that holds both");
        }
        try {
            String s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
            if (s.indexOf('\0') >= 0) {
                throw ConfigException.ofFile(file, "binary file, not a JSON or YAML config");
            }
            return s;
        } catch (CharacterCodingException e) {
            throw ConfigException.ofFile(file, "binary file (not UTF-8 text), not a JSON or YAML config");
        }
    }

    /** A safetensors file starts with the little-endian length of its JSON header, then the header itself. */
    private static boolean isSafetensors(byte[] b) {
        if (b.length < 10) {
            return false;
        }
        long n = ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        return n > 1 && n <= b.length - 8 && b[8] == '{';
    }

    private static boolean looksLikeJson(Path file, String text) {
        String name = file.getFileName() == null ? "" : file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".json")) {
            return true;
        }
        if (name.endsWith(".yaml") || name.endsWith(".yml")) {
            return false;
        }
        String t = text.strip();
        return t.startsWith("{") || t.startsWith("[");
    }

    private static String lfsMessage(String text) {
        Matcher oid = LFS_OID.matcher(text);
        Matcher size = LFS_SIZE.matcher(text);
        String what = (oid.find() ? oid.group(1) : "unknown object")
                + (size.find() ? ", " + size.group(1) + " bytes" : "");
        return "this is a Git LFS pointer file, not the file's content (" + what + "): fetch the content with "
                + "`git lfs pull` (or download the file itself)";
    }

    private static String syntaxMessage(boolean json, JsonProcessingException e) {
        JsonLocation at = e.getLocation();
        String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
        String what = e.getOriginalMessage();
        if (json) {
            int cut = what.indexOf(" (start marker at");
            what = cut > 0 ? what.substring(0, cut) : what;
            cut = what.indexOf("\n");
            what = cut > 0 ? what.substring(0, cut) : what;
        } else {
            // SnakeYAML writes context lines, " in 'reader', line ..." and indented snippets; the problem is the last
            // line that starts in column one
            what = what.lines().filter(l -> !l.isEmpty() && !Character.isWhitespace(l.charAt(0)))
                    .reduce((a, b) -> b).orElse(what);
        }
        return "invalid " + (json ? "JSON" : "YAML") + where + ": " + what.strip();
    }
}
