package io.github.sgm4j.modules.encoders.text;

import java.text.Normalizer;
import java.util.HashMap;
import java.util.Map;

/**
 * The text clean-up of ftfy's {@code fix_text} with its default settings (ftfy 6.3), which both CLIP
 * tokenizers run before byte-pair encoding when ftfy is installed.
 *
 * <p>The text is fixed line by line (each segment ends after a {@code \n}); each segment is fixed
 * repeatedly until nothing changes, applying in order:
 *
 * <ol>
 *   <li>HTML entities ({@code unescape_html="auto"}: only while no segment so far contained
 *       {@code <}): {@code &name;} from the HTML5 table and its upper-case spelling, {@code &#N;}
 *       and {@code &#xN;};
 *   <li>mojibake ({@code fix_encoding}), partly, see below;
 *   <li>C1 controls read as windows-1252; Latin ligatures and digraphs split ({@code ﬁ} to {@code
 *       fi}, {@code ǆ} to {@code dž}); fullwidth and halfwidth forms and U+3000 to standard width;
 *       curly quotes to {@code '} and {@code "}; {@code \r\n}, {@code \r}, U+2028, U+2029, U+0085 to
 *       {@code \n}; unpaired surrogates to U+FFFD; ANSI terminal escapes removed; control
 *       characters (U+0000..U+0008, U+000B, U+000E..U+001F, U+007F, U+206A..U+206F, U+FEFF,
 *       U+FFF9..U+FFFC) removed;
 *   <li>NFC normalisation.
 * </ol>
 *
 * <p>Mojibake is undone by {@link Mojibake} for Latin-1, windows-1250/1251/1252/1253/1254/1257
 * and ISO-8859-2, for whole texts and for runs inside sound text, behind a small stand-in for
 * ftfy's badness heuristic (see that class for what is not covered).
 *
 * <p>The behaviour reimplemented here is ftfy's, by Robyn Speer (https://github.com/rspeer/python-ftfy,
 * Apache License 2.0); the ligature list, the control-character ranges, the fix order and the
 * mojibake approach follow ftfy 6.3. No ftfy source is included.
 *
 * <p>Character data (NFC, fullwidth forms) come from the JVM's Unicode tables (Unicode 13 on Java
 * 17; the reference used Python 3.11's Unicode 14).
 */
public final class TextFixer {

    private static final Map<Integer, String> LIGATURES = new HashMap<>();
    private static final Map<Integer, String> WIDTH = new HashMap<>();

    static {
        String[][] ligatures = {
            {"\u0132", "IJ"}, {"\u0133", "ij"}, {"\u0149", "\u02BCn"},
            {"\u01F1", "DZ"}, {"\u01F2", "Dz"}, {"\u01F3", "dz"},
            {"\u01C4", "D\u017D"}, {"\u01C5", "D\u017E"}, {"\u01C6", "d\u017E"},
            {"\u01C7", "LJ"}, {"\u01C8", "Lj"}, {"\u01C9", "lj"},
            {"\u01CA", "NJ"}, {"\u01CB", "Nj"}, {"\u01CC", "nj"},
            {"\uFB00", "ff"}, {"\uFB01", "fi"}, {"\uFB02", "fl"}, {"\uFB03", "ffi"},
            {"\uFB04", "ffl"}, {"\uFB05", "\u017Ft"}, {"\uFB06", "st"}
        };
        for (String[] l : ligatures) {
            LIGATURES.put((int) l[0].charAt(0), l[1]);
        }
        WIDTH.put(0x3000, " ");
        for (int cp = 0xFF01; cp < 0xFFF0; cp++) {
            String c = new String(Character.toChars(cp));
            String alt = Normalizer.normalize(c, Normalizer.Form.NFKC);
            if (!alt.equals(c)) {
                WIDTH.put(cp, alt);
            }
        }
    }

    private TextFixer() {}

    /**
     * ftfy's {@code fix_text(text)} with default settings, as described in the class comment.
     *
     * @param text any text, including unpaired surrogates and control characters
     * @return the fixed text
     */
    public static String fixText(String text) {
        StringBuilder out = new StringBuilder(text.length());
        boolean unescapeHtml = true;
        int pos = 0;
        while (pos < text.length()) {
            int brk = text.indexOf('\n', pos) + 1;
            if (brk == 0) {
                brk = text.length();
            }
            String segment = text.substring(pos, brk);
            if (unescapeHtml && segment.indexOf('<') >= 0) {
                // ftfy's "auto": the first segment with '<' turns unescaping off for the rest
                unescapeHtml = false;
            }
            out.append(fixSegment(segment, unescapeHtml));
            pos = brk;
        }
        return out.toString();
    }

    private static String fixSegment(String text, boolean unescapeHtml) {
        while (true) {
            String orig = text;
            if (unescapeHtml) {
                text = HtmlUnescape.ftfyUnescape(text);
            }
            text = Mojibake.fix(text);
            text = Mojibake.fixC1Controls(text);
            text = translate(text, LIGATURES);
            text = translate(text, WIDTH);
            text = uncurlQuotes(text);
            text = fixLineBreaks(text);
            text = fixSurrogates(text);
            text = removeTerminalEscapes(text);
            text = removeControlChars(text);
            text = nfc(text);
            if (text.equals(orig)) {
                return text;
            }
        }
    }

    /**
     * NFC, then combining marks the JVM does not know re-ordered by the reference's combining
     * classes (a stable sort within each run of marks, as canonical ordering does).
     */
    static String nfc(String text) {
        String n = Normalizer.normalize(text, Normalizer.Form.NFC);
        int[] cps = n.codePoints().toArray();
        boolean changed = false;
        int i = 0;
        while (i < cps.length) {
            if (UnicodeTables.combiningClass(cps[i]) == 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < cps.length && UnicodeTables.combiningClass(cps[j]) != 0) {
                j++;
            }
            for (int a = i + 1; a < j; a++) {
                int cp = cps[a];
                int cc = UnicodeTables.combiningClass(cp);
                int b = a - 1;
                while (b >= i && UnicodeTables.combiningClass(cps[b]) > cc) {
                    cps[b + 1] = cps[b];
                    b--;
                    changed = true;
                }
                cps[b + 1] = cp;
            }
            i = j;
        }
        return changed ? new String(cps, 0, cps.length) : n;
    }

    private static String translate(String text, Map<Integer, String> table) {
        StringBuilder sb = new StringBuilder(text.length());
        text.codePoints().forEach(cp -> {
            String r = table.get(cp);
            if (r != null) {
                sb.append(r);
            } else {
                sb.appendCodePoint(cp);
            }
        });
        return sb.toString();
    }

    private static String uncurlQuotes(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\u02BC' || (c >= '\u2018' && c <= '\u201B')) {
                sb.append('\'');
            } else if (c >= '\u201C' && c <= '\u201F') {
                sb.append('"');
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private static String fixLineBreaks(String text) {
        return text.replace("\r\n", "\n")
                .replace('\r', '\n')
                .replace('\u2028', '\n')
                .replace('\u2029', '\n')
                .replace('\u0085', '\n');
    }

    /** Unpaired surrogates become U+FFFD (paired ones already form one code point in Java). */
    private static String fixSurrogates(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        int i = 0;
        while (i < text.length()) {
            int cp = text.codePointAt(i);
            sb.appendCodePoint(Character.isSurrogate((char) cp) && cp <= 0xFFFF ? 0xFFFD : cp);
            i += Character.charCount(cp);
        }
        return sb.toString();
    }

    /** Removes {@code ESC [ (digits|;)* letter}; digits are any Unicode decimal digits, as in re. */
    private static String removeTerminalEscapes(String text) {
        if (text.indexOf('\u001B') < 0) {
            return text;
        }
        StringBuilder sb = new StringBuilder(text.length());
        int i = 0;
        while (i < text.length()) {
            if (text.charAt(i) == '\u001B' && i + 1 < text.length() && text.charAt(i + 1) == '[') {
                int j = i + 2;
                while (j < text.length()) {
                    int cp = text.codePointAt(j);
                    if (cp == ';' || Character.getType(cp) == Character.DECIMAL_DIGIT_NUMBER) {
                        j += Character.charCount(cp);
                    } else {
                        break;
                    }
                }
                if (j < text.length() && isAsciiLetter(text.charAt(j))) {
                    i = j + 1;
                    continue;
                }
            }
            sb.append(text.charAt(i));
            i++;
        }
        return sb.toString();
    }

    private static boolean isAsciiLetter(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    private static String removeControlChars(String text) {
        StringBuilder sb = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean control = c <= 0x08
                    || c == 0x0B
                    || (c >= 0x0E && c <= 0x1F)
                    || c == 0x7F
                    || (c >= 0x206A && c <= 0x206F)
                    || c == 0xFEFF
                    || (c >= 0xFFF9 && c <= 0xFFFC);
            if (!control) {
                sb.append(c);
            }
        }
        return sb.toString();
    }
}
