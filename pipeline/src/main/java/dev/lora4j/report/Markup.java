package dev.lora4j.report;

/**
 * Builds the page as well-formed XHTML (served as text/html), so that any XML parser can check it and browsers read
 * it as ordinary HTML. Every text and attribute value goes through {@link #escape}; only the page's own stylesheet
 * and script enter unescaped.
 */
final class Markup {
    private final StringBuilder out = new StringBuilder(1 << 16);
    private String styleAttribute = "style";

    /**
     * Writes every {@code style} attribute as {@code name} instead: the live dashboard's policy forbids style
     * attributes in markup, and its script applies them through the CSSOM.
     */
    Markup styleAttributeAs(String name) {
        styleAttribute = name;
        return this;
    }

    /** Opens {@code tag}; {@code attributes} are name, value pairs, and a null value leaves its attribute out. */
    Markup open(String tag, String... attributes) {
        out.append('<').append(tag);
        attributes(attributes);
        out.append('>');
        return this;
    }

    /**
     * A self-closed element: XHTML needs the slash. Only for HTML's void elements ({@code meta, link}) and SVG's,
     * whose slash HTML honours; an HTML {@code <span/>} would stay open in a browser.
     */
    Markup empty(String tag, String... attributes) {
        out.append('<').append(tag);
        attributes(attributes);
        out.append("/>");
        return this;
    }

    Markup close(String tag) {
        out.append("</").append(tag).append('>');
        return this;
    }

    Markup element(String tag, String text, String... attributes) {
        return open(tag, attributes).text(text).close(tag);
    }

    Markup text(String text) {
        out.append(escape(text));
        return this;
    }

    /** Trusted text of the page's own (the stylesheet and script resources, the doctype). */
    Markup raw(String text) {
        out.append(text);
        return this;
    }

    Markup newline() {
        out.append('\n');
        return this;
    }

    private void attributes(String... attributes) {
        if (attributes.length % 2 != 0) {
            throw new IllegalArgumentException("attributes come in name, value pairs");
        }
        for (int i = 0; i < attributes.length; i += 2) {
            if (attributes[i + 1] != null) {
                String name = attributes[i].equals("style") ? styleAttribute : attributes[i];
                out.append(' ').append(name).append("=\"").append(escape(attributes[i + 1])).append('"');
            }
        }
    }

    /**
     * Escapes for both text and quoted attributes. Control characters XML forbids (they can come from a trial's
     * reason, e.g. an exception message) and unpaired surrogates (UTF-8 cannot encode them) become U+FFFD, so that
     * one odd character can neither make the page unparsable nor fail writing it.
     */
    static String escape(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> {
                    if (Character.isHighSurrogate(c) && i + 1 < s.length()
                            && Character.isLowSurrogate(s.charAt(i + 1))) {
                        b.append(c).append(s.charAt(++i));
                    } else {
                        boolean forbidden = c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0xFFFE
                                || c == 0xFFFF || Character.isSurrogate(c);
                        b.append(forbidden ? '\uFFFD' : c);
                    }
                }
            }
        }
        return b.toString();
    }

    @Override
    public String toString() {
        return out.toString();
    }
}
