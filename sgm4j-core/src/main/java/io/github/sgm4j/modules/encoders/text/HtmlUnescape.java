package io.github.sgm4j.modules.encoders.text;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * HTML character references as Python's {@code html.unescape} resolves them (numeric references
 * with the HTML5 replacement rules, named references from the HTML5 table with the longest-prefix
 * rule for names without a semicolon), and ftfy's narrower {@code unescape_html}.
 *
 * <p>The named references come from {@code html5_entities.tsv} (the WHATWG HTML standard's table).
 */
final class HtmlUnescape {

    private static final String ENTITIES_RESOURCE = "html5_entities.tsv";
    private static final int MAX_NAME = 32;

    /** Name (with its ';' where it has one) to replacement text. */
    private static final Map<String, String> HTML5 = loadHtml5();

    /** ftfy's {@code HTML_ENTITIES}: "&name;" and upper-case variants to replacement text. */
    private static final Map<String, String> FTFY_ENTITIES = buildFtfyEntities();

    private HtmlUnescape() {}

    private static Map<String, String> loadHtml5() {
        Map<String, String> map = new HashMap<>();
        try (InputStream in = HtmlUnescape.class.getResourceAsStream(ENTITIES_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(
                        "resource " + ENTITIES_RESOURCE + " is missing from the classpath");
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            String line;
            int lineNo = 0;
            while ((line = r.readLine()) != null) {
                lineNo++;
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                String[] parts = line.split("\t");
                if (parts.length != 2) {
                    throw new IllegalStateException(
                            ENTITIES_RESOURCE + " line " + lineNo + ": expected name<TAB>code points");
                }
                StringBuilder sb = new StringBuilder();
                for (String hex : parts[1].split(" ")) {
                    sb.appendCodePoint(Integer.parseInt(hex, 16));
                }
                map.put(parts[0], sb.toString());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read resource " + ENTITIES_RESOURCE, e);
        }
        return Collections.unmodifiableMap(map);
    }

    private static Map<String, String> buildFtfyEntities() {
        Map<String, String> map = new HashMap<>();
        for (Map.Entry<String, String> e : HTML5.entrySet()) {
            String name = e.getKey();
            if (!name.endsWith(";")) {
                continue;
            }
            map.put("&" + name, e.getValue());
            if (name.equals(name.toLowerCase(Locale.ROOT))) {
                String upper = "&" + name.toUpperCase(Locale.ROOT);
                // only where the upper-case spelling means nothing to html.unescape already
                if (unescape(upper).equals(upper)) {
                    map.put(upper, e.getValue().toUpperCase(Locale.ROOT));
                }
            }
        }
        return Collections.unmodifiableMap(map);
    }

    /**
     * Python's {@code html.unescape}.
     *
     * @param s the text
     * @return the text with every character reference replaced
     */
    static String unescape(String s) {
        if (s.indexOf('&') < 0) {
            return s;
        }
        StringBuilder out = new StringBuilder(s.length());
        int i = 0;
        int n = s.length();
        while (i < n) {
            char c = s.charAt(i);
            if (c != '&' || i + 1 >= n) {
                out.append(c);
                i++;
                continue;
            }
            int end = matchCharRef(s, i + 1);
            if (end < 0) {
                out.append(c);
                i++;
                continue;
            }
            out.append(replaceCharRef(s.substring(i + 1, end)));
            i = end;
        }
        return out.toString();
    }

    /**
     * The end of {@code #[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?} at {@code i}, or -1.
     */
    private static int matchCharRef(String s, int i) {
        int n = s.length();
        if (s.charAt(i) == '#') {
            int j = i + 1;
            boolean hex = j < n && (s.charAt(j) == 'x' || s.charAt(j) == 'X');
            if (hex) {
                j++;
            }
            int digitsStart = j;
            while (j < n && (hex ? isHexDigit(s.charAt(j)) : isDigit(s.charAt(j)))) {
                j++;
            }
            if (j == digitsStart) {
                if (hex) {
                    // "&#x" without hex digits: the named alternative cannot start with '#' either
                    return -1;
                }
                return -1;
            }
            return j < n && s.charAt(j) == ';' ? j + 1 : j;
        }
        int j = i;
        int count = 0;
        while (j < n && count < MAX_NAME) {
            int cp = s.codePointAt(j);
            if (cp == '\t' || cp == '\n' || cp == '\f' || cp == ' ' || cp == '<' || cp == '&'
                    || cp == '#' || cp == ';') {
                break;
            }
            j += Character.charCount(cp);
            count++;
        }
        if (count == 0) {
            return -1;
        }
        return j < n && s.charAt(j) == ';' ? j + 1 : j;
    }

    private static String replaceCharRef(String ref) {
        if (ref.charAt(0) == '#') {
            boolean hex = ref.length() > 1 && (ref.charAt(1) == 'x' || ref.charAt(1) == 'X');
            String digits = ref.substring(hex ? 2 : 1);
            if (digits.endsWith(";")) {
                digits = digits.substring(0, digits.length() - 1);
            }
            long num = parseCapped(digits, hex ? 16 : 10);
            String invalid = invalidCharRef(num);
            if (invalid != null) {
                return invalid;
            }
            if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) {
                return "\uFFFD";
            }
            if (isInvalidCodePoint((int) num)) {
                return "";
            }
            return new String(Character.toChars((int) num));
        }
        String direct = HTML5.get(ref);
        if (direct != null) {
            return direct;
        }
        int[] cps = ref.codePoints().toArray();
        for (int x = cps.length - 1; x > 1; x--) {
            String prefix = new String(cps, 0, x);
            String v = HTML5.get(prefix);
            if (v != null) {
                return v + new String(cps, x, cps.length - x);
            }
        }
        return "&" + ref;
    }

    /** Parses digits, saturating above U+10FFFF (the value then only needs to be "too large"). */
    private static long parseCapped(String digits, int radix) {
        long v = 0;
        for (int k = 0; k < digits.length(); k++) {
            v = v * radix + Character.digit(digits.charAt(k), radix);
            if (v > 0x110000L) {
                v = 0x110000L;
            }
        }
        return v;
    }

    /** Python's {@code html._invalid_charrefs}: NUL, CR and the windows-1252 C1 table. */
    private static String invalidCharRef(long num) {
        if (num == 0) {
            return "\uFFFD";
        }
        if (num == 0x0D) {
            return "\r";
        }
        if (num >= 0x80 && num <= 0x9F) {
            return String.valueOf(Mojibake.sloppyWindows1252((int) num));
        }
        return null;
    }

    /** Python's {@code html._invalid_codepoints}: references that resolve to nothing. */
    private static boolean isInvalidCodePoint(int cp) {
        return (cp >= 0x1 && cp <= 0x8)
                || cp == 0xB
                || (cp >= 0xE && cp <= 0x1F)
                || (cp >= 0x7F && cp <= 0x9F)
                || (cp >= 0xFDD0 && cp <= 0xFDEF)
                || (cp & 0xFFFF) == 0xFFFE
                || (cp & 0xFFFF) == 0xFFFF;
    }

    /**
     * ftfy's {@code unescape_html}: each {@code &#?[0-9A-Za-z]{1,24};} that is a known entity (or
     * its upper-case spelling) or a numeric reference that resolves completely is replaced.
     *
     * @param s the text
     * @return the text with those references replaced
     */
    static String ftfyUnescape(String s) {
        if (s.indexOf('&') < 0) {
            return s;
        }
        StringBuilder out = new StringBuilder(s.length());
        int i = 0;
        int n = s.length();
        while (i < n) {
            char c = s.charAt(i);
            if (c == '&') {
                int j = i + 1;
                if (j < n && s.charAt(j) == '#') {
                    j++;
                }
                int start = j;
                while (j < n && j - start < 24 && isAsciiAlnum(s.charAt(j))) {
                    j++;
                }
                if (j > start && j < n && s.charAt(j) == ';') {
                    String match = s.substring(i, j + 1);
                    out.append(ftfyFixup(match));
                    i = j + 1;
                    continue;
                }
            }
            out.append(c);
            i++;
        }
        return out.toString();
    }

    private static String ftfyFixup(String match) {
        String known = FTFY_ENTITIES.get(match);
        if (known != null) {
            return known;
        }
        if (match.startsWith("&#")) {
            String unescaped = unescape(match);
            return unescaped.indexOf(';') >= 0 ? match : unescaped;
        }
        return match;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static boolean isHexDigit(char c) {
        return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }

    private static boolean isAsciiAlnum(char c) {
        return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }
}
