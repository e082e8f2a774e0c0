package dev.lora4j.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * PEFT's patterns are Python regexes. Every expectation here was produced by CPython 3.11.7's {@code re}
 * ({@code re.compile(p)}, {@code re.match(p, s)}): the same errors with the same positions, the same matches.
 */
class PythonRegexTest {

    /** {@code re.match(pattern, s).group(0)} or null, for each sample. */
    static Stream<Arguments> matches() {
        return Stream.of(
                Arguments.of(".*\\.(?P<proj>q|v)_proj", List.of("model.layers.0.self_attn.q_proj",
                        "model.layers.0.self_attn.k_proj", "v_proj"),
                        Arrays.asList("model.layers.0.self_attn.q_proj", null, null)),
                Arguments.of("(?P<x_y>\\w+)\\.(?P=x_y)", List.of("ab.ab", "ab.ac", "\u00e9.\u00e9"),
                        Arrays.asList("ab.ab", null, "\u00e9.\u00e9")),
                Arguments.of("(?P<\u00e9>a)(?P=\u00e9)", List.of("aa", "ab"), Arrays.asList("aa", null)),
                Arguments.of("(a)\\1\\0", List.of("aa\u0000", "aa0", "aa"), Arrays.asList("aa\u0000", null, null)),
                Arguments.of("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)\\10", List.of("abcdefghijj", "abcdefghija0"),
                        Arrays.asList("abcdefghijj", null)),
                Arguments.of("(?P<a>x)(b)(c)(d)(e)(f)(g)(h)(i)(j)(?P=a)0", List.of("xbcdefghijx0", "xbcdefghijj"),
                        Arrays.asList("xbcdefghijx0", null)),
                Arguments.of("q_proj\\Z", List.of("q_proj", "q_proj\n"), Arrays.asList("q_proj", null)),
                Arguments.of("q_proj$", List.of("q_proj", "q_proj\n", "q_proj\u2028"),
                        Arrays.asList("q_proj", "q_proj", null)),
                Arguments.of("a.b", List.of("a\nb", "a\u2028b", "axb"), Arrays.asList(null, "a\u2028b", "axb")),
                Arguments.of("(?s)a.b", List.of("a\nb"), List.of("a\nb")),
                Arguments.of("\\v", List.of("\u000b", "\n"), Arrays.asList("\u000b", null)),
                Arguments.of("[\\b]", List.of("\b", "b"), Arrays.asList("\b", null)),
                Arguments.of("a{", List.of("a{", "a"), Arrays.asList("a{", null)),
                Arguments.of("a{,2}b", List.of("aab", "aaab"), Arrays.asList("aab", null)),
                Arguments.of("a{,}b", List.of("aaab", "b"), List.of("aaab", "b")),
                Arguments.of("x{ 1}", List.of("x{ 1}", "x"), Arrays.asList("x{ 1}", null)),
                Arguments.of("[]a]+", List.of("]a]", "b"), Arrays.asList("]a]", null)),
                Arguments.of("[a-z&&[^b]]+", List.of("a]]", "b]", "&]", "ab&&[^]"),
                        Arrays.asList("a]]", "b]", "&]", null)),
                Arguments.of("[\\w.]+", List.of("model.layers_0", "\u00e9.x"), List.of("model.layers_0", "\u00e9.x")),
                Arguments.of("\\w+", List.of("\u00e91_", "-"), Arrays.asList("\u00e91_", null)),
                Arguments.of("(?a)\\w+", List.of("\u00e9", "a"), Arrays.asList(null, "a")),
                Arguments.of("(?a:\\d)\\d", List.of("\u06611", "1\u0661"), Arrays.asList(null, "1\u0661")),
                Arguments.of("(?i)Q_PROJ", List.of("q_proj"), List.of("q_proj")),
                Arguments.of("(?i:q)_PROJ", List.of("Q_PROJ", "Q_proj"), Arrays.asList("Q_PROJ", null)),
                Arguments.of("(?x) q _ proj  # the query", List.of("q_proj"), List.of("q_proj")),
                Arguments.of("(?x)[ ]x", List.of(" x", "x"), Arrays.asList(" x", null)),
                Arguments.of("(?x:a b)c d", List.of("abc d", "abcd"), Arrays.asList("abc d", null)),
                Arguments.of("(?#a comment)q", List.of("q"), List.of("q")),
                Arguments.of("\\x41\\u0042\\U00000043\\N{LATIN SMALL LETTER D}\\101", List.of("ABCdA"),
                        List.of("ABCdA")),
                Arguments.of("(?<=a{2})b", List.of("aab"), Arrays.asList((String) null)),
                Arguments.of("a++b", List.of("aab"), List.of("aab")),
                Arguments.of("(?>a+)a", List.of("aaa"), Arrays.asList((String) null)),
                Arguments.of("\\d+", List.of("\u0661\u06623", "x"), Arrays.asList("\u0661\u06623", null)));
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("matches")
    void matchesWhatPythonMatches(String python, List<String> samples, List<String> expected) {
        List<String> got = new ArrayList<>();
        for (String s : samples) {
            Matcher m = PythonRegex.compile(python).matcher(s);
            got.add(m.lookingAt() ? m.group() : null);
        }
        assertEquals(expected, got);
    }

    /** Python's {@code re.error} message and position (-1: Python reports none). */
    static Stream<Arguments> errors() {
        return Stream.of(
                Arguments.of("(?<n>a)", "unknown extension ?<n", 1),
                Arguments.of("\\k<n>", "bad escape \\k", 0),
                Arguments.of("\\p{L}", "bad escape \\p", 0),
                Arguments.of("[\\A]", "bad escape \\A", 1),
                Arguments.of("\\1", "invalid group reference 1", 1),
                Arguments.of("(a)\\10", "invalid group reference 10", 4),
                Arguments.of("(?<=a|bc)", "look-behind requires fixed-width pattern", -1),
                Arguments.of("(?P<1a>x)", "bad character in group name '1a'", 4),
                Arguments.of("(?-a:x)", "bad inline flags: cannot turn off flags 'a', 'u' and 'L'", 4),
                Arguments.of("(?L)x", "bad inline flags: cannot use 'L' flag with a str pattern", 3),
                Arguments.of("(?au)x", "bad inline flags: flags 'a', 'u' and 'L' are incompatible", 4),
                Arguments.of("(?i-i:x)", "bad inline flags: flag turned on and off", 5),
                Arguments.of("(?-x)x", "missing :", 4),
                Arguments.of("a(?i)b", "global flags not at the start of the expression", 1),
                Arguments.of("(?:a)(?i)b", "global flags not at the start of the expression", 5),
                Arguments.of("\\x4", "incomplete escape \\x4", 0),
                Arguments.of("\\U00110000", "bad escape \\U00110000", 0),
                Arguments.of("[a-\\d]", "bad character range a-\\d", 1),
                Arguments.of("[z-a]", "bad character range z-a", 1),
                Arguments.of("a**", "multiple repeat", 2),
                Arguments.of("a{2}{3}", "multiple repeat", 4),
                Arguments.of("^*", "nothing to repeat", 1),
                Arguments.of("(?i)*", "nothing to repeat", 4),
                Arguments.of("a|*b", "nothing to repeat", 2),
                Arguments.of("a{3,2}", "min repeat greater than max repeat", 2),
                Arguments.of(")", "unbalanced parenthesis", 0),
                Arguments.of("(", "missing ), unterminated subpattern", 0),
                Arguments.of("\\", "bad escape (end of pattern)", 0),
                Arguments.of("[", "unterminated character set", 0),
                Arguments.of("[]", "unterminated character set", 0),
                Arguments.of("(?P<a>x)(?P<a>y)", "redefinition of group name 'a' as group 2; was group 1", 12),
                Arguments.of("(?P=a)(?P<a>x)", "unknown group name 'a'", 4),
                Arguments.of("(?P<a>x(?P=a))", "cannot refer to an open group", 11),
                Arguments.of("(?<=(a)\\1)", "cannot refer to group defined in the same lookbehind subpattern", 9),
                Arguments.of("(?Px)", "unknown extension ?Px", 1),
                Arguments.of("(?P<a", "missing >, unterminated name", 4),
                Arguments.of("(?P<>x)", "missing group name", 4),
                Arguments.of("(?P=1)", "bad character in group name '1'", 4),
                Arguments.of("\\g<1>", "bad escape \\g", 0),
                Arguments.of("\\400", "octal escape value \\400 outside of range 0-0o377", 0),
                Arguments.of("[\\8]", "bad escape \\8", 1),
                Arguments.of("\\e", "bad escape \\e", 0),
                Arguments.of("\\Q.\\E", "bad escape \\Q", 0),
                Arguments.of("(?z)", "unknown extension ?z", 1),
                Arguments.of("x{4294967296}", "the repetition number is too large", -1));
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("errors")
    void refusesWhatPythonRefuses(String python, String message, int position) {
        PythonRegex.SyntaxError e = assertThrows(PythonRegex.SyntaxError.class, () -> PythonRegex.compile(python));
        assertEquals(message, e.description());
        assertEquals(position, e.position());
        assertFalse(e.untranslatable());
    }

    @Test
    void refusesWhatJavaCannotRunWithAClearReason() {
        PythonRegex.SyntaxError cond = assertThrows(PythonRegex.SyntaxError.class,
                () -> PythonRegex.compile("(a)(?(1)b|c)"));
        assertTrue(cond.untranslatable());
        assertEquals(3, cond.position());
        assertTrue(PythonRegex.explain(cond).startsWith("uses a conditional group"), PythonRegex.explain(cond));
        PythonRegex.SyntaxError behind = assertThrows(PythonRegex.SyntaxError.class,
                () -> PythonRegex.compile("(a)(?<=\\1)"));
        assertTrue(behind.untranslatable());
        assertTrue(assertThrows(PythonRegex.SyntaxError.class, () -> PythonRegex.compile("x{2147483648}"))
                .untranslatable());
    }

    @Test
    void javaSyntaxGetsAHintTowardsPythons() {
        PythonRegex.SyntaxError e = assertThrows(PythonRegex.SyntaxError.class,
                () -> PythonRegex.compile("(?<proj>q)_proj"));
        assertEquals("unknown extension ?<p (Python writes a named group as (?P<name>...))", PythonRegex.explain(e));
    }

    @Test
    void translationKeepsGroupNumbersAndCountsTopLevelAlternatives() {
        PythonRegex.Translation t = PythonRegex.translate(".*?\\.(?P<n>h)\\.(\\d+)\\.");
        assertEquals(2, t.groups());
        assertEquals(1, t.topLevelBranches());
        assertEquals(2, PythonRegex.translate(".*?\\.h|layers\\.(\\d+)\\.").topLevelBranches());
        assertEquals(1, PythonRegex.translate(".*?\\.(?:h|layers)\\.(\\d+)\\.").topLevelBranches());
    }
}
