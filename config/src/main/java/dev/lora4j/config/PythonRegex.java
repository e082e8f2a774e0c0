package dev.lora4j.config;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * PEFT's patterns ({@code target_modules}/{@code exclude_modules} strings, {@code rank_pattern}/{@code alpha_pattern}
 * keys, {@code modules_to_save} entries, {@code layers_pattern} names) are Python {@code re} regexes. This is the one
 * place lora4j compiles them: it parses a pattern with the rules of CPython 3.11's {@code re/_parser.py} (so what
 * Python refuses is refused, with Python's message and position) and writes the java.util.regex pattern that matches
 * the same strings.
 *
 * <p>Translated: named groups {@code (?P<name>...)} (Python allows {@code _} and non-ASCII letters in names, Java does
 * not; groups are referred to by number instead), named back references {@code (?P=name)}, numbered back references
 * (isolated so that a following digit stays a digit), {@code \Z} (Java's {@code \z}), {@code \v} (one character in
 * Python, a class in Java), {@code \U0001F600}, octal escapes, {@code {,n}} and a {@code {} that is not a repeat
 * (literal in Python), character classes (Python has no nested classes or {@code &&}: every member is written as an
 * escaped literal), verbose mode {@code (?x)} (Java's ignores spaces inside classes; Python's does not), comments
 * {@code (?#...)}, and the ASCII flag {@code (?a)} (Java {@code -U}). Patterns are compiled with
 * {@link Pattern#UNIX_LINES} (Python's {@code .} and {@code $} only know {@code \n}) and
 * {@link Pattern#UNICODE_CHARACTER_CLASS} (Python's {@code \w}, {@code \d}, {@code \s}, {@code \b} are Unicode-aware
 * for str patterns).
 *
 * <p>Refused although Python accepts them (no Java equivalent): conditional groups {@code (?(1)a|b)}, a group
 * reference inside a look-behind, repeat counts above 2147483647. Accepted as in Python 3.11+: possessive quantifiers
 * and atomic groups (3.10 refuses them), and {@code \z} as in 3.14 (older versions refuse it).
 */
public final class PythonRegex {

    /** A pattern Python's {@code re} rejects, or one that has no Java equivalent. */
    public static final class SyntaxError extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        private final String description;
        private final int position;
        private final boolean untranslatable;

        SyntaxError(String description, int position, boolean untranslatable) {
            super(description + (position >= 0 ? " at position " + position : ""));
            this.description = description;
            this.position = position;
            this.untranslatable = untranslatable;
        }

        /** Python's message (or why Java cannot run it), without the position. */
        public String description() {
            return description;
        }

        /** The code-point index in the pattern where Python reports the error, or -1 when it reports none. */
        public int position() {
            return position;
        }

        /** True when Python accepts the pattern but lora4j cannot run it on Java's engine. */
        public boolean untranslatable() {
            return untranslatable;
        }
    }

    /**
     * A translated pattern.
     *
     * @param java the java.util.regex source (compile it with {@link #FLAGS})
     * @param groups the capturing groups, numbered as in Python
     * @param topLevelBranches the alternatives at the top level ({@code a|b} has 2)
     */
    public record Translation(String java, int groups, int topLevelBranches) {}

    /** The flags every translated pattern is compiled with. */
    public static final int FLAGS = Pattern.UNIX_LINES | Pattern.UNICODE_CHARACTER_CLASS;

    private static final int CACHE_LIMIT = 4096;
    private static final Map<String, Object> CACHE = new ConcurrentHashMap<>();

    private PythonRegex() {}

    /** The Java pattern that matches what {@code re.compile(python)} matches. */
    public static Pattern compile(String python) {
        Object cached = CACHE.get(python);
        if (cached == null) {
            try {
                Translation t = translate(python);
                cached = Pattern.compile(t.java(), FLAGS);
            } catch (SyntaxError e) {
                cached = new Failed(e.description(), e.position(), e.untranslatable());
            }
            if (CACHE.size() > CACHE_LIMIT) {
                CACHE.clear();
            }
            CACHE.put(python, cached);
        }
        if (cached instanceof Failed f) {
            throw new SyntaxError(f.description(), f.position(), f.untranslatable());
        }
        return (Pattern) cached;
    }

    private record Failed(String description, int position, boolean untranslatable) {}

    /** Parses {@code python} as CPython's {@code re} does and writes the equivalent Java pattern. */
    public static Translation translate(String python) {
        Translation t = new Parser(python).run();
        try {
            Pattern.compile(t.java(), FLAGS);
        } catch (PatternSyntaxException e) {
            throw new SyntaxError("a construct Java's regex engine rejects (" + e.getDescription() + ")", -1, true);
        }
        return t;
    }

    /**
     * One line for {@code e} without its position: Python's message plus a hint where the user wrote Java (or PCRE)
     * syntax that Python lacks, or what lora4j cannot translate.
     */
    public static String explain(SyntaxError e) {
        String d = e.description();
        if (e.untranslatable()) {
            return "uses " + d + ", which Python accepts but Java's regex engine cannot run; rewrite the pattern "
                    + "without it";
        }
        String hint = "";
        if (d.startsWith("unknown extension ?<") && d.length() > 20 && Character.isLetter(d.charAt(20))) {
            hint = " (Python writes a named group as (?P<name>...))";
        } else if (d.equals("bad escape \\k")) {
            hint = " (Python refers to a named group as (?P=name))";
        } else if (d.equals("bad escape \\p") || d.equals("bad escape \\P")) {
            hint = " (Python's re has no \\p{...} classes)";
        } else if (d.equals("bad escape \\Q") || d.equals("bad escape \\E")) {
            hint = " (Python's re has no \\Q...\\E quoting; escape each character)";
        }
        return d + hint;
    }

    // CPython's flag bits (re/_constants.py)
    private static final int TEMPLATE = 1;
    private static final int IGNORECASE = 2;
    private static final int LOCALE = 4;
    private static final int MULTILINE = 8;
    private static final int DOTALL = 16;
    private static final int UNICODE = 32;
    private static final int VERBOSE = 64;
    private static final int ASCII = 256;
    private static final int TYPE_FLAGS = ASCII | LOCALE | UNICODE;
    private static final int GLOBAL_FLAGS = TEMPLATE;
    private static final Map<Character, Integer> FLAG_BITS = Map.of('i', IGNORECASE, 'L', LOCALE, 'm', MULTILINE,
            's', DOTALL, 'x', VERBOSE, 'a', ASCII, 't', TEMPLATE, 'u', UNICODE);

    private static final String SPECIAL_CHARS = ".\\[{()*+?^$|";
    private static final String REPEAT_CHARS = "*+?{";
    private static final String WHITESPACE = " \t\n\r\u000b\f";
    private static final long MAXREPEAT = 4294967295L;
    private static final long MAXWIDTH = Long.MAX_VALUE;

    private enum Kind { UNIT, AT, REPEAT, GROUPREF, GROUP, ASSERT }

    /** One element of a sequence: its Java text and Python's (min, max) width. */
    private record Item(Kind kind, String java, long lo, long hi) {}

    /** An alternation: Java text, width, number of alternatives. */
    private record Sub(String java, long lo, long hi, int branches) {}

    private static final class Parser {
        private final String source;
        private final int[] cp;
        private int index;
        private String next;
        private int flags;
        /** Python's State.groupwidths: index 0 is group 0; null while a group is open. */
        private final List<long[]> groupWidths = new ArrayList<>();
        private final Map<String, Integer> groupDict = new HashMap<>();
        private Integer lookbehindGroups;
        private boolean lookbehindNotFixed;

        Parser(String source) {
            this.source = source;
            this.cp = source.codePoints().toArray();
            groupWidths.add(new long[] {0, 0});
            advance();
        }

        Translation run() {
            Sub p = parseSub((flags & VERBOSE) != 0, 0);
            if ((flags & ASCII) != 0 && (flags & UNICODE) != 0) {
                throw new SyntaxError("ASCII and UNICODE flags are incompatible", -1, false);
            }
            if (next != null) {
                throw error("unbalanced parenthesis", 0);
            }
            if (lookbehindNotFixed) {
                throw new SyntaxError("look-behind requires fixed-width pattern", -1, false);
            }
            String on = ((flags & IGNORECASE) != 0 ? "i" : "") + ((flags & MULTILINE) != 0 ? "m" : "")
                    + ((flags & DOTALL) != 0 ? "s" : "");
            String off = (flags & ASCII) != 0 ? "U" : "";
            String prefix = on.isEmpty() && off.isEmpty() ? "" : "(?" + on + (off.isEmpty() ? "" : "-" + off) + ")";
            return new Translation(prefix + p.java(), groupWidths.size() - 1, p.branches());
        }

        // ---- the tokenizer (re/_parser.py Tokenizer) ----

        private void advance() {
            if (index >= cp.length) {
                next = null;
                return;
            }
            int c = cp[index];
            if (c == '\\') {
                if (index + 1 >= cp.length) {
                    throw new SyntaxError("bad escape (end of pattern)", cp.length - 1, false);
                }
                next = "\\" + Character.toString(cp[index + 1]);
                index += 2;
            } else {
                next = Character.toString(c);
                index += 1;
            }
        }

        private boolean match(String c) {
            if (c.equals(next)) {
                advance();
                return true;
            }
            return false;
        }

        private String get() {
            String t = next;
            advance();
            return t;
        }

        private int tell() {
            return index - (next == null ? 0 : len(next));
        }

        private void seek(int i) {
            index = i;
            advance();
        }

        private String getWhile(int n, String charset) {
            StringBuilder r = new StringBuilder();
            for (int i = 0; i < n; i++) {
                if (next == null || next.length() != 1 || charset.indexOf(next.charAt(0)) < 0) {
                    break;
                }
                r.append(next);
                advance();
            }
            return r.toString();
        }

        private String getUntil(String terminator, String name) {
            StringBuilder r = new StringBuilder();
            while (true) {
                String c = next;
                advance();
                if (c == null) {
                    if (r.length() == 0) {
                        throw error("missing " + name, 0);
                    }
                    throw error("missing " + terminator + ", unterminated name", len(r.toString()));
                }
                if (c.equals(terminator)) {
                    if (r.length() == 0) {
                        throw error("missing " + name, 1);
                    }
                    break;
                }
                r.append(c);
            }
            return r.toString();
        }

        private SyntaxError error(String msg, int offset) {
            return new SyntaxError(msg, tell() - offset, false);
        }

        private SyntaxError untranslatable(String msg, int position) {
            return new SyntaxError(msg, position, true);
        }

        private void checkGroupName(String name, int offset) {
            if (!isIdentifier(name)) {
                throw error("bad character in group name " + repr(name), len(name) + offset);
            }
        }

        // ---- groups (re/_parser.py State) ----

        private int groups() {
            return groupWidths.size();
        }

        private boolean checkGroup(int gid) {
            return gid < groups() && groupWidths.get(gid) != null;
        }

        private void checkLookbehindGroup(int gid) {
            if (lookbehindGroups != null) {
                if (!checkGroup(gid)) {
                    throw error("cannot refer to an open group", 0);
                }
                if (gid >= lookbehindGroups) {
                    throw error("cannot refer to group defined in the same lookbehind subpattern", 0);
                }
                throw untranslatable("a group reference inside a look-behind", tell());
            }
        }

        // ---- the grammar (re/_parser.py _parse_sub, _parse) ----

        private Sub parseSub(boolean verbose, int nested) {
            List<Sub> items = new ArrayList<>();
            boolean v = verbose;
            while (true) {
                items.add(parse(v, nested + 1, nested == 0 && items.isEmpty()));
                if (!match("|")) {
                    break;
                }
                if (nested == 0) {
                    v = (flags & VERBOSE) != 0;
                }
            }
            if (items.size() == 1) {
                return items.get(0);
            }
            StringBuilder java = new StringBuilder();
            long lo = MAXWIDTH;
            long hi = 0;
            for (int i = 0; i < items.size(); i++) {
                Sub s = items.get(i);
                java.append(i == 0 ? "" : "|").append(s.java());
                lo = Math.min(lo, s.lo());
                hi = Math.max(hi, s.hi());
            }
            return new Sub(java.toString(), lo, hi, items.size());
        }

        private Sub parse(boolean verboseIn, int nested, boolean first) {
            boolean verbose = verboseIn;
            List<Item> items = new ArrayList<>();
            while (true) {
                String th = next;
                if (th == null || th.equals("|") || th.equals(")")) {
                    break;
                }
                get();
                if (verbose) {
                    if (th.length() == 1 && WHITESPACE.indexOf(th.charAt(0)) >= 0) {
                        continue;
                    }
                    if (th.equals("#")) {
                        while (true) {
                            String t = get();
                            if (t == null || t.equals("\n")) {
                                break;
                            }
                        }
                        continue;
                    }
                }
                if (th.charAt(0) == '\\') {
                    items.add(escape(th));
                } else if (th.length() != 1 || SPECIAL_CHARS.indexOf(th.charAt(0)) < 0) {
                    items.add(unit(literal(th.codePointAt(0))));
                } else if (th.equals("[")) {
                    items.add(characterClass());
                } else if (REPEAT_CHARS.contains(th)) {
                    if (!repeat(th, items)) {
                        items.add(unit(literal('{')));
                    }
                } else if (th.equals(".")) {
                    items.add(unit("."));
                } else if (th.equals("(")) {
                    Item g = group(verbose, nested, first, items);
                    if (g == GLOBAL_FLAGS_ITEM) {
                        verbose = (flags & VERBOSE) != 0;
                    } else if (g != null) {
                        items.add(g);
                    }
                } else if (th.equals("^")) {
                    items.add(new Item(Kind.AT, "^", 0, 0));
                } else if (th.equals("$")) {
                    items.add(new Item(Kind.AT, "$", 0, 0));
                } else {
                    throw new IllegalStateException("unsupported special character " + th);
                }
            }
            StringBuilder java = new StringBuilder();
            long lo = 0;
            long hi = 0;
            for (Item i : items) {
                java.append(i.java());
                lo = add(lo, i.lo());
                hi = add(hi, i.hi());
            }
            return new Sub(java.toString(), lo, hi, 1);
        }

        private static final Item GLOBAL_FLAGS_ITEM = new Item(Kind.GROUP, "", 0, 0);

        /** A quantifier; false when a '{' turns out to be a literal. */
        private boolean repeat(String th, List<Item> items) {
            int here = tell();
            long min;
            long max;
            switch (th) {
                case "?" -> {
                    min = 0;
                    max = 1;
                }
                case "*" -> {
                    min = 0;
                    max = MAXREPEAT;
                }
                case "+" -> {
                    min = 1;
                    max = MAXREPEAT;
                }
                default -> {
                    if ("}".equals(next)) {
                        return false;
                    }
                    min = 0;
                    max = MAXREPEAT;
                    String lo = getWhile(Integer.MAX_VALUE, "0123456789");
                    String hi;
                    if (match(",")) {
                        hi = getWhile(Integer.MAX_VALUE, "0123456789");
                    } else {
                        hi = lo;
                    }
                    if (!match("}")) {
                        seek(here);
                        return false;
                    }
                    if (!lo.isEmpty()) {
                        min = repeatCount(lo);
                    }
                    if (!hi.isEmpty()) {
                        max = repeatCount(hi);
                        if (max < min) {
                            throw error("min repeat greater than max repeat", tell() - here);
                        }
                    }
                }
            }
            Item item = items.isEmpty() ? null : items.get(items.size() - 1);
            if (item == null || item.kind() == Kind.AT) {
                throw error("nothing to repeat", tell() - here + len(th));
            }
            if (item.kind() == Kind.REPEAT) {
                throw error("multiple repeat", tell() - here + len(th));
            }
            String mode = match("?") ? "?" : match("+") ? "+" : "";
            if (min > Integer.MAX_VALUE || (max != MAXREPEAT && max > Integer.MAX_VALUE)) {
                throw untranslatable("a repeat count above 2147483647", here);
            }
            String q;
            if (min == 0 && max == 1) {
                q = "?";
            } else if (min == 0 && max == MAXREPEAT) {
                q = "*";
            } else if (min == 1 && max == MAXREPEAT) {
                q = "+";
            } else if (max == MAXREPEAT) {
                q = "{" + min + ",}";
            } else if (min == max) {
                q = "{" + min + "}";
            } else {
                q = "{" + min + "," + max + "}";
            }
            // Java would quantify a bare look-around too, but only a group makes the intent unambiguous
            String body = item.kind() == Kind.ASSERT ? "(?:" + item.java() + ")" : item.java();
            long lo = multiply(item.lo(), min);
            long hi = max == MAXREPEAT && item.hi() > 0 ? MAXWIDTH : multiply(item.hi(), max);
            items.set(items.size() - 1, new Item(Kind.REPEAT, body + q + mode, lo, hi));
            return true;
        }

        private long repeatCount(String digits) {
            if (digits.length() > 10 || Long.parseLong(digits) >= MAXREPEAT) {
                throw new SyntaxError("the repetition number is too large", -1, false);
            }
            return Long.parseLong(digits);
        }

        /** After '(': a group, an assertion, a comment, flags or a back reference; null for nothing to add. */
        private Item group(boolean verbose, int nested, boolean first, List<Item> items) {
            int start = tell() - 1;
            boolean capture = true;
            boolean atomic = false;
            String name = null;
            int addFlags = 0;
            int delFlags = 0;
            if (match("?")) {
                String c = get();
                if (c == null) {
                    throw error("unexpected end of pattern", 0);
                }
                switch (c) {
                    case "P" -> {
                        if (match("<")) {
                            name = getUntil(">", "group name");
                            checkGroupName(name, 1);
                        } else if (match("=")) {
                            name = getUntil(")", "group name");
                            checkGroupName(name, 1);
                            Integer gid = groupDict.get(name);
                            if (gid == null) {
                                throw error("unknown group name " + repr(name), len(name) + 1);
                            }
                            if (!checkGroup(gid)) {
                                throw error("cannot refer to an open group", len(name) + 1);
                            }
                            checkLookbehindGroup(gid);
                            return groupRef(gid);
                        } else {
                            String d = get();
                            if (d == null) {
                                throw error("unexpected end of pattern", 0);
                            }
                            throw error("unknown extension ?P" + d, len(d) + 2);
                        }
                    }
                    case ":" -> capture = false;
                    case "#" -> {
                        while (true) {
                            if (next == null) {
                                throw error("missing ), unterminated comment", tell() - start);
                            }
                            if (get().equals(")")) {
                                break;
                            }
                        }
                        return null;
                    }
                    case "=", "!", "<" -> {
                        return assertion(c, verbose, nested, start);
                    }
                    case "(" -> throw untranslatable("a conditional group (?(...)...)", start);
                    case ">" -> {
                        capture = false;
                        atomic = true;
                    }
                    default -> {
                        if (c.length() == 1 && (FLAG_BITS.containsKey(c.charAt(0)) || c.equals("-"))) {
                            int[] f = parseFlags(c.charAt(0));
                            if (f == null) {
                                if (!first || !items.isEmpty()) {
                                    throw error("global flags not at the start of the expression", tell() - start);
                                }
                                return GLOBAL_FLAGS_ITEM;
                            }
                            addFlags = f[0];
                            delFlags = f[1];
                            capture = false;
                        } else {
                            throw error("unknown extension ?" + c, len(c) + 1);
                        }
                    }
                }
            }
            int group = -1;
            if (capture) {
                group = groups();
                groupWidths.add(null);
                if (name != null) {
                    Integer old = groupDict.get(name);
                    if (old != null) {
                        throw error("redefinition of group name " + repr(name) + " as group " + group
                                + "; was group " + old, len(name) + 1);
                    }
                    groupDict.put(name, group);
                }
            }
            boolean subVerbose = (verbose || (addFlags & VERBOSE) != 0) && (delFlags & VERBOSE) == 0;
            Sub p = parseSub(subVerbose, nested + 1);
            if (!match(")")) {
                throw error("missing ), unterminated subpattern", tell() - start);
            }
            if (group >= 0) {
                groupWidths.set(group, new long[] {p.lo(), p.hi()});
                return new Item(Kind.GROUP, "(" + p.java() + ")", p.lo(), p.hi());
            }
            if (atomic) {
                return new Item(Kind.GROUP, "(?>" + p.java() + ")", p.lo(), p.hi());
            }
            return new Item(Kind.GROUP, "(?" + javaFlags(addFlags, delFlags) + ":" + p.java() + ")", p.lo(), p.hi());
        }

        private Item assertion(String c, boolean verbose, int nested, int start) {
            String kind = c;
            boolean behind = false;
            Integer outer = lookbehindGroups;
            if (c.equals("<")) {
                String d = get();
                if (d == null) {
                    throw error("unexpected end of pattern", 0);
                }
                if (!d.equals("=") && !d.equals("!")) {
                    throw error("unknown extension ?<" + d, len(d) + 2);
                }
                kind = "<" + d;
                behind = true;
                if (outer == null) {
                    lookbehindGroups = groups();
                }
            }
            Sub p = parseSub(verbose, nested + 1);
            if (behind && outer == null) {
                lookbehindGroups = null;
            }
            if (!match(")")) {
                throw error("missing ), unterminated subpattern", tell() - start);
            }
            if (behind && p.lo() != p.hi()) {
                lookbehindNotFixed = true;
            }
            return new Item(Kind.ASSERT, "(?" + kind + p.java() + ")", 0, 0);
        }

        /** re/_parser.py _parse_flags: {add, del}, or null for global flags (already applied). */
        private int[] parseFlags(char first) {
            int add = 0;
            int del = 0;
            String c = String.valueOf(first);
            if (first != '-') {
                while (true) {
                    int flag = FLAG_BITS.get(c.charAt(0));
                    if (c.equals("L")) {
                        throw error("bad inline flags: cannot use 'L' flag with a str pattern", 0);
                    }
                    add |= flag;
                    if ((flag & TYPE_FLAGS) != 0 && (add & TYPE_FLAGS) != flag) {
                        throw error("bad inline flags: flags 'a', 'u' and 'L' are incompatible", 0);
                    }
                    c = get();
                    if (c == null) {
                        throw error("missing -, : or )", 0);
                    }
                    if (c.equals(")") || c.equals("-") || c.equals(":")) {
                        break;
                    }
                    if (c.length() != 1 || !FLAG_BITS.containsKey(c.charAt(0))) {
                        throw error(Character.isLetter(c.codePointAt(0)) && c.charAt(0) != '\\' ? "unknown flag"
                                : "missing -, : or )", len(c));
                    }
                }
            }
            if (c.equals(")")) {
                flags |= add;
                return null;
            }
            if ((add & GLOBAL_FLAGS) != 0) {
                throw error("bad inline flags: cannot turn on global flag", 1);
            }
            if (c.equals("-")) {
                c = get();
                if (c == null) {
                    throw error("missing flag", 0);
                }
                if (c.length() != 1 || !FLAG_BITS.containsKey(c.charAt(0))) {
                    throw error(Character.isLetter(c.codePointAt(0)) && c.charAt(0) != '\\' ? "unknown flag"
                            : "missing flag", len(c));
                }
                while (true) {
                    int flag = FLAG_BITS.get(c.charAt(0));
                    if ((flag & TYPE_FLAGS) != 0) {
                        throw error("bad inline flags: cannot turn off flags 'a', 'u' and 'L'", 0);
                    }
                    del |= flag;
                    c = get();
                    if (c == null) {
                        throw error("missing :", 0);
                    }
                    if (c.equals(":")) {
                        break;
                    }
                    if (c.length() != 1 || !FLAG_BITS.containsKey(c.charAt(0))) {
                        throw error(Character.isLetter(c.codePointAt(0)) && c.charAt(0) != '\\' ? "unknown flag"
                                : "missing :", len(c));
                    }
                }
            }
            if ((del & GLOBAL_FLAGS) != 0) {
                throw error("bad inline flags: cannot turn off global flag", 1);
            }
            if ((add & del) != 0) {
                throw error("bad inline flags: flag turned on and off", 1);
            }
            return new int[] {add, del};
        }

        private static String javaFlags(int add, int del) {
            String on = ((add & IGNORECASE) != 0 ? "i" : "") + ((add & MULTILINE) != 0 ? "m" : "")
                    + ((add & DOTALL) != 0 ? "s" : "") + ((add & UNICODE) != 0 ? "U" : "");
            String off = ((del & IGNORECASE) != 0 ? "i" : "") + ((del & MULTILINE) != 0 ? "m" : "")
                    + ((del & DOTALL) != 0 ? "s" : "") + ((add & ASCII) != 0 ? "U" : "");
            return on + (off.isEmpty() ? "" : "-" + off);
        }

        // ---- escapes (re/_parser.py _escape, _class_escape) ----

        private Item escape(String esc) {
            switch (esc) {
                case "\\A":
                    return new Item(Kind.AT, "\\A", 0, 0);
                case "\\b":
                    return new Item(Kind.AT, "\\b", 0, 0);
                case "\\B":
                    return new Item(Kind.AT, "\\B", 0, 0);
                case "\\Z":
                case "\\z": // Python 3.14's spelling of \Z
                    return new Item(Kind.AT, "\\z", 0, 0);
                case "\\d":
                case "\\D":
                case "\\s":
                case "\\S":
                case "\\w":
                case "\\W":
                    return unit(esc);
                default:
                    break;
            }
            Integer simple = simpleEscape(esc);
            if (simple != null) {
                return unit(literal(simple));
            }
            int c = esc.codePointAt(1);
            Integer code = numericEscape(esc, c);
            if (code != null) {
                return unit(literal(code));
            }
            if (c == '0') {
                String more = getWhile(2, "01234567");
                return unit(literal(Integer.parseInt("0" + more, 8)));
            }
            if (c >= '1' && c <= '9') {
                String e = esc;
                if (next != null && next.length() == 1 && Character.isDigit(next.charAt(0)) && next.charAt(0) < 128) {
                    e += get();
                    if (isOct(e.charAt(1)) && isOct(e.charAt(2)) && next != null && next.length() == 1
                            && isOct(next.charAt(0))) {
                        e += get();
                        int v = Integer.parseInt(e.substring(1), 8);
                        if (v > 0377) {
                            throw error("octal escape value " + e + " outside of range 0-0o377", len(e));
                        }
                        return unit(literal(v));
                    }
                }
                int group = Integer.parseInt(e.substring(1));
                if (group < groups()) {
                    if (!checkGroup(group)) {
                        throw error("cannot refer to an open group", len(e));
                    }
                    checkLookbehindGroup(group);
                    return groupRef(group);
                }
                throw error("invalid group reference " + group, len(e) - 1);
            }
            if (len(esc) == 2) {
                if (c < 128 && Character.isLetter(c)) {
                    throw error("bad escape " + esc, len(esc));
                }
                return unit(literal(c));
            }
            throw error("bad escape " + esc, len(esc));
        }

        /** A class member: a code point, or a Java category such as {@code \d}. */
        private record Member(int codePoint, String category) {}

        private Member classEscape(String esc) {
            Integer simple = simpleEscape(esc);
            if (simple != null) {
                return new Member(simple, null);
            }
            if (esc.equals("\\b")) {
                return new Member(8, null);
            }
            if (List.of("\\d", "\\D", "\\s", "\\S", "\\w", "\\W").contains(esc)) {
                return new Member(-1, esc);
            }
            int c = esc.codePointAt(1);
            Integer code = numericEscape(esc, c);
            if (code != null) {
                return new Member(code, null);
            }
            if (isOct(c)) {
                String e = esc + getWhile(2, "01234567");
                int v = Integer.parseInt(e.substring(1), 8);
                if (v > 0377) {
                    throw error("octal escape value " + e + " outside of range 0-0o377", len(e));
                }
                return new Member(v, null);
            }
            if (c < 128 && Character.isDigit(c)) {
                throw error("bad escape " + esc, len(esc));
            }
            if (len(esc) == 2) {
                if (c < 128 && Character.isLetter(c)) {
                    throw error("bad escape " + esc, len(esc));
                }
                return new Member(c, null);
            }
            throw error("bad escape " + esc, len(esc));
        }

        private static Integer simpleEscape(String esc) {
            return switch (esc) {
                case "\\a" -> 7;
                case "\\f" -> 12;
                case "\\n" -> 10;
                case "\\r" -> 13;
                case "\\t" -> 9;
                case "\\v" -> 11;
                case "\\\\" -> 92;
                default -> null;
            };
        }

        /** {@code \xhh}, {@code \\uhhhh}, {@code \Uhhhhhhhh}, {@code \N{name}}; null for any other escape. */
        private Integer numericEscape(String esc, int c) {
            String e = esc;
            switch (c) {
                case 'x' -> {
                    e += getWhile(2, "0123456789abcdefABCDEF");
                    if (len(e) != 4) {
                        throw error("incomplete escape " + e, len(e));
                    }
                    return Integer.parseInt(e.substring(2), 16);
                }
                case 'u' -> {
                    e += getWhile(4, "0123456789abcdefABCDEF");
                    if (len(e) != 6) {
                        throw error("incomplete escape " + e, len(e));
                    }
                    return Integer.parseInt(e.substring(2), 16);
                }
                case 'U' -> {
                    e += getWhile(8, "0123456789abcdefABCDEF");
                    if (len(e) != 10) {
                        throw error("incomplete escape " + e, len(e));
                    }
                    long v = Long.parseLong(e.substring(2), 16);
                    if (v > Character.MAX_CODE_POINT) {
                        throw error("bad escape " + e, len(e));
                    }
                    return (int) v;
                }
                case 'N' -> {
                    if (!match("{")) {
                        throw error("missing {", 0);
                    }
                    String charName = getUntil("}", "character name");
                    try {
                        return Character.codePointOf(charName);
                    } catch (IllegalArgumentException ex) {
                        throw error("undefined character name " + repr(charName), len(charName) + 4);
                    }
                }
                default -> {
                    return null;
                }
            }
        }

        private Item characterClass() {
            int here = tell() - 1;
            List<String> set = new ArrayList<>();
            boolean negate = match("^");
            while (true) {
                String th = get();
                if (th == null) {
                    throw error("unterminated character set", tell() - here);
                }
                if (th.equals("]") && !set.isEmpty()) {
                    break;
                }
                Member code1 = th.charAt(0) == '\\' ? classEscape(th) : new Member(th.codePointAt(0), null);
                if (match("-")) {
                    String that = get();
                    if (that == null) {
                        throw error("unterminated character set", tell() - here);
                    }
                    if (that.equals("]")) {
                        set.add(member(code1));
                        set.add(literal('-'));
                        break;
                    }
                    Member code2 = that.charAt(0) == '\\' ? classEscape(that) : new Member(that.codePointAt(0), null);
                    if (code1.category() != null || code2.category() != null
                            || code2.codePoint() < code1.codePoint()) {
                        throw error("bad character range " + th + "-" + that, len(th) + 1 + len(that));
                    }
                    set.add(literal(code1.codePoint()) + "-" + literal(code2.codePoint()));
                } else {
                    set.add(member(code1));
                }
            }
            return unit("[" + (negate ? "^" : "") + String.join("", set) + "]");
        }

        private static String member(Member m) {
            return m.category() != null ? m.category() : literal(m.codePoint());
        }

        private Item groupRef(int gid) {
            long[] w = groupWidths.get(gid);
            return new Item(Kind.GROUPREF, "(?:\\" + gid + ")", w[0], w[1]);
        }

        private Item unit(String java) {
            return new Item(Kind.UNIT, java, 1, 1);
        }

        private static boolean isOct(int c) {
            return c >= '0' && c <= '7';
        }
    }

    /** A code point as a Java regex literal that means the same inside and outside a class. */
    static String literal(int c) {
        if (c < 128 && (Character.isLetterOrDigit(c) || c == '_')) {
            return Character.toString(c);
        }
        if (c > 32 && c < 127) {
            return "\\" + (char) c;
        }
        return "\\x{" + Integer.toHexString(c) + "}";
    }

    private static int len(String s) {
        return s.codePointCount(0, s.length());
    }

    private static long add(long a, long b) {
        long r = a + b;
        return r < 0 || r > MAXWIDTH ? MAXWIDTH : r;
    }

    private static long multiply(long a, long b) {
        if (a == 0 || b == 0) {
            return 0;
        }
        return a > MAXWIDTH / b ? MAXWIDTH : a * b;
    }

    /** Python's str.isidentifier(). */
    private static boolean isIdentifier(String s) {
        if (s.isEmpty()) {
            return false;
        }
        int first = s.codePointAt(0);
        if (first != '_' && !Character.isUnicodeIdentifierStart(first)) {
            return false;
        }
        return s.codePoints().skip(1).allMatch(c -> c == '_' || (Character.isUnicodeIdentifierPart(c)
                && !Character.isIdentifierIgnorable(c)));
    }

    /** Python's repr() of a str, as its messages quote names. */
    static String repr(String s) {
        boolean single = s.indexOf('\'') < 0 || s.indexOf('"') >= 0;
        char q = single ? '\'' : '"';
        StringBuilder b = new StringBuilder().append(q);
        s.codePoints().forEach(c -> {
            if (c == '\\') {
                b.append("\\\\");
            } else if (c == q) {
                b.append('\\').append(q);
            } else if (c == '\n') {
                b.append("\\n");
            } else if (c == '\t') {
                b.append("\\t");
            } else if (c == '\r') {
                b.append("\\r");
            } else if (c < 32 || c == 127) {
                b.append(String.format("\\x%02x", c));
            } else {
                b.appendCodePoint(c);
            }
        });
        return b.append(q).toString();
    }
}
