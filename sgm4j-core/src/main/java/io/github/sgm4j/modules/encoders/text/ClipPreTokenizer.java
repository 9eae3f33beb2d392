package io.github.sgm4j.modules.encoders.text;

import java.util.ArrayList;
import java.util.List;

/**
 * CLIP's pre-tokenisation: the pieces that Python's {@code regex.findall} yields for the pattern
 * {@code SPECIALS|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+} with {@code
 * IGNORECASE}, written out as a scanner so that the character classes are exactly the reference's:
 * the letter, number and "other" classes are the ranges the {@code regex} module matches under
 * IGNORECASE (read from {@code clip_unicode_classes.txt}, generated from it), and {@code \s} is the
 * Unicode White_Space property. Code points, not UTF-16 units, are scanned, so emoji and other supplementary
 * characters stay whole.
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
        if (isOther(cp)) {
            int j = i;
            while (j < text.length() && isOther(text.codePointAt(j))) {
                j += Character.charCount(text.codePointAt(j));
            }
            return j;
        }
        // white space, and the few characters no alternative matches (U+0345), are skipped
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

    /** {@code [\p{L}]} of the pattern (general categories Lu, Ll, Lt, Lm, Lo). */
    static boolean isLetter(int cp) {
        return UnicodeTables.LETTERS.contains(cp);
    }

    /** {@code [\p{N}]} of the pattern (general categories Nd, Nl, No). */
    static boolean isNumber(int cp) {
        return UnicodeTables.NUMBERS.contains(cp);
    }

    /** {@code [^\s\p{L}\p{N}]} of the pattern under IGNORECASE. */
    static boolean isOther(int cp) {
        return UnicodeTables.OTHERS.contains(cp);
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

    /**
     * Python's {@code str.lower()}: the reference's lower-case mapping (from the generated table, as
     * the JVM's is of an older Unicode version), U+0130 to "i\u0307", and capital
     * sigma to final sigma by Python's rule (after a cased letter, with no cased letter following
     * once case-ignorable characters are skipped). Java's {@code toLowerCase} looks further ahead.
     */
    static String pythonLower(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        int i = 0;
        while (i < text.length()) {
            int cp = text.codePointAt(i);
            if (cp == 0x0130) {
                sb.append("i\u0307");
            } else if (cp == 0x03A3) {
                sb.append(isFinalSigma(text, i) ? '\u03C2' : '\u03C3');
            } else {
                sb.appendCodePoint(UnicodeTables.lower(cp));
            }
            i += Character.charCount(cp);
        }
        return sb.toString();
    }

    private static boolean isFinalSigma(String text, int at) {
        int j = at;
        int before = -1;
        while (j > 0) {
            int c = text.codePointBefore(j);
            j -= Character.charCount(c);
            if (!isCaseIgnorable(c)) {
                before = c;
                break;
            }
        }
        if (before < 0 || !isCased(before)) {
            return false;
        }
        j = at + 1;
        while (j < text.length()) {
            int c = text.codePointAt(j);
            if (!isCaseIgnorable(c)) {
                return !isCased(c);
            }
            j += Character.charCount(c);
        }
        return true;
    }

    private static boolean isCased(int cp) {
        return Character.isLowerCase(cp) || Character.isUpperCase(cp) || Character.isTitleCase(cp);
    }

    /** Unicode's Case_Ignorable: Mn, Me, Cf, Lm, Sk and the word-internal punctuation. */
    private static boolean isCaseIgnorable(int cp) {
        int t = Character.getType(cp);
        if (t == Character.NON_SPACING_MARK || t == Character.ENCLOSING_MARK || t == Character.FORMAT
                || t == Character.MODIFIER_LETTER || t == Character.MODIFIER_SYMBOL) {
            return true;
        }
        switch (cp) {
            case 0x27, 0x2E, 0x3A, 0xB7, 0x387, 0x55F, 0x5F4, 0x2018, 0x2019, 0x2024, 0x2027, 0xFE13, 0xFE52,
                    0xFE55, 0xFF07, 0xFF0E, 0xFF1A:
                return true;
            default:
                return false;
        }
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
