package io.github.sgm4j.modules.encoders.text;

import java.util.ArrayList;
import java.util.List;

/**
 * CLIP's pre-tokenisation: the pieces that Python's {@code regex.findall} yields for the pattern
 * {@code SPECIALS|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+} with {@code
 * IGNORECASE}, written out as a scanner so that the character classes are exactly the reference's:
 * letters are general categories L*, numbers N*, and {@code \s} is the Unicode White_Space
 * property (what the {@code regex} module matches). Code points, not UTF-16 units, are scanned, so
 * emoji and other supplementary characters stay whole.
 */
final class ClipPreTokenizer {

    private static final String[] CONTRACTIONS = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};

    private final String[] specials;

    /**
     * @param specials the special-token texts tried first at every position, in order
     */
    ClipPreTokenizer(String... specials) {
        this.specials = specials.clone();
    }

    /**
     * Splits cleaned text into pieces.
     *
     * @param text the cleaned, lower-cased text
     * @return the pieces in order
     */
    List<String> split(String text) {
        List<String> pieces = new ArrayList<>();
        int n = text.length();
        int i = 0;
        while (i < n) {
            int end = matchAt(text, i);
            if (end > i) {
                pieces.add(text.substring(i, end));
                i = end;
            } else {
                i += Character.charCount(text.codePointAt(i));
            }
        }
        return pieces;
    }

    /** The end of the first alternative matching at {@code i}, or {@code i} if none does. */
    private int matchAt(String text, int i) {
        for (String s : specials) {
            int e = matchIgnoreCase(text, i, s);
            if (e > i) {
                return e;
            }
        }
        for (String c : CONTRACTIONS) {
            int e = matchIgnoreCase(text, i, c);
            if (e > i) {
                return e;
            }
        }
        int cp = text.codePointAt(i);
        if (isLetter(cp)) {
            int j = i;
            while (j < text.length() && isLetter(text.codePointAt(j))) {
                j += Character.charCount(text.codePointAt(j));
            }
            return j;
        }
        if (isNumber(cp)) {
            return i + Character.charCount(cp);
        }
        if (!isSpace(cp)) {
            int j = i;
            while (j < text.length()) {
                int c = text.codePointAt(j);
                if (isSpace(c) || isLetter(c) || isNumber(c)) {
                    break;
                }
                j += Character.charCount(c);
            }
            return j;
        }
        return i;
    }

    /** Matches literal {@code lit} at {@code i} under simple case folding; the end, or {@code i}. */
    private static int matchIgnoreCase(String text, int i, String lit) {
        int j = i;
        int k = 0;
        while (k < lit.length()) {
            if (j >= text.length()) {
                return i;
            }
            int a = text.codePointAt(j);
            int b = lit.codePointAt(k);
            if (a != b && fold(a) != fold(b)) {
                return i;
            }
            j += Character.charCount(a);
            k += Character.charCount(b);
        }
        return j;
    }

    private static int fold(int cp) {
        return Character.toLowerCase(Character.toUpperCase(cp));
    }

    /** {@code \p{L}}: general categories Lu, Ll, Lt, Lm, Lo. */
    static boolean isLetter(int cp) {
        return Character.isLetter(cp);
    }

    /** {@code \p{N}}: general categories Nd, Nl, No. */
    static boolean isNumber(int cp) {
        int t = Character.getType(cp);
        return t == Character.DECIMAL_DIGIT_NUMBER
                || t == Character.LETTER_NUMBER
                || t == Character.OTHER_NUMBER;
    }

    /** {@code \s} of the {@code regex} module: the Unicode White_Space property. */
    static boolean isSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D)
                || cp == 0x20
                || cp == 0x85
                || cp == 0xA0
                || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A)
                || cp == 0x2028
                || cp == 0x2029
                || cp == 0x202F
                || cp == 0x205F
                || cp == 0x3000;
    }

    /** Python's {@code str.isspace}: White_Space plus the separators U+001C..U+001F. */
    static boolean isPythonSpace(int cp) {
        return isSpace(cp) || (cp >= 0x1C && cp <= 0x1F);
    }

    /** {@code re.sub(r"\s+", " ", text).strip()}: the reference's {@code whitespace_clean}. */
    static String whitespaceClean(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        int i = 0;
        while (i < text.length()) {
            int cp = text.codePointAt(i);
            if (isSpace(cp)) {
                while (i < text.length() && isSpace(text.codePointAt(i))) {
                    i += Character.charCount(text.codePointAt(i));
                }
                sb.append(' ');
            } else {
                sb.appendCodePoint(cp);
                i += Character.charCount(cp);
            }
        }
        return pythonStrip(sb.toString());
    }

    /** Python's {@code str.strip()} with no argument. */
    static String pythonStrip(String text) {
        int start = 0;
        int end = text.length();
        while (start < end && isPythonSpace(text.codePointAt(start))) {
            start += Character.charCount(text.codePointAt(start));
        }
        while (end > start && isPythonSpace(text.codePointBefore(end))) {
            end -= Character.charCount(text.codePointBefore(end));
        }
        return text.substring(start, end);
    }
}
