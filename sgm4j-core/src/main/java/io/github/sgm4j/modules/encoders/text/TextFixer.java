package io.github.sgm4j.modules.encoders.text;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
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
 * <p>Mojibake: ftfy decides whether text "looks bad" with a large table of suspicious character
 * sequences, then tries ten single-byte encodings. This port covers the common case: text that is
 * entirely Latin-1 or windows-1252 (with ftfy's "sloppy" reading of its five undefined bytes) and
 * whose bytes in that encoding are valid UTF-8 containing a multi-byte sequence is re-decoded as
 * UTF-8 (so {@code cafÃ©} becomes {@code café}, doubly encoded text is fixed in two rounds, and
 * Cyrillic read as windows-1252 is restored); otherwise C1 controls in all-Latin-1 text are read as
 * windows-1252. Not covered: the other single-byte encodings (windows-1250/1251/1253/1254/1257,
 * ISO-8859-2, MacRoman, cp437), {@code restore_byte_a0} (a lost no-break space, as in {@code Ã
 * la}), {@code replace_lossy_sequences} (U+FFFD inside mojibake), CESU-8/Java-style UTF-8 variants,
 * {@code decode_inconsistent_utf8} (mojibake mixed with correct non-ASCII text), and ftfy's
 * badness table itself: text that re-decodes cleanly is taken as mojibake even where ftfy would
 * judge the sequence plausible. Such input is rare in prompts.
 *
 * <p>Character data (NFC, fullwidth forms) come from the JVM's Unicode tables (Unicode 13 on Java
 * 17; the reference used Python 3.11's Unicode 14).
 */
public final class TextFixer {

    private static final char[] WINDOWS_1252_C1 = {
        '\u20AC', '\u0081', '\u201A', '\u0192', '\u201E', '\u2026', '\u2020', '\u2021',
        '\u02C6', '\u2030', '\u0160', '\u2039', '\u0152', '\u008D', '\u017D', '\u008F',
        '\u0090', '\u2018', '\u2019', '\u201C', '\u201D', '\u2022', '\u2013', '\u2014',
        '\u02DC', '\u2122', '\u0161', '\u203A', '\u0153', '\u009D', '\u017E', '\u0178'
    };

    private static final Map<Character, Integer> WINDOWS_1252_REVERSE = new HashMap<>();
    private static final Map<Integer, String> LIGATURES = new HashMap<>();
    private static final Map<Integer, String> WIDTH = new HashMap<>();

    static {
        for (int b = 0x80; b <= 0x9F; b++) {
            WINDOWS_1252_REVERSE.put(WINDOWS_1252_C1[b - 0x80], b);
        }
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
            text = fixEncoding(text);
            text = fixC1Controls(text);
            text = translate(text, LIGATURES);
            text = translate(text, WIDTH);
            text = uncurlQuotes(text);
            text = fixLineBreaks(text);
            text = fixSurrogates(text);
            text = removeTerminalEscapes(text);
            text = removeControlChars(text);
            text = Normalizer.normalize(text, Normalizer.Form.NFC);
            if (text.equals(orig)) {
                return text;
            }
        }
    }

    /** ftfy's {@code fix_encoding} (the covered part): repeated until nothing changes. */
    static String fixEncoding(String text) {
        while (true) {
            String next = fixEncodingOneStep(text);
            if (next.equals(text)) {
                return text;
            }
            text = next;
        }
    }

    private static String fixEncodingOneStep(String text) {
        boolean ascii = true;
        boolean latin1 = true;
        boolean sloppy1252 = true;
        boolean c1 = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c >= 0x80) {
                ascii = false;
            }
            if (c > 0xFF) {
                latin1 = false;
            }
            if (c >= 0x80 && c <= 0x9F) {
                c1 = true;
            }
            if (windows1252Byte(c) < 0 || c == 0x1A) {
                sloppy1252 = false;
            }
        }
        if (ascii) {
            return text;
        }
        List<int[]> runs = utf8LookingRuns(text);
        boolean bad = c1;
        for (int[] r : runs) {
            bad |= runLooksBad(text, r[0], r[1]);
        }
        if (!bad) {
            return text;
        }
        if (latin1) {
            String fixed = decodeUtf8(latin1Bytes(text));
            if (fixed != null) {
                return fixed;
            }
        }
        if (sloppy1252) {
            byte[] bytes = new byte[text.length()];
            for (int i = 0; i < text.length(); i++) {
                bytes[i] = (byte) windows1252Byte(text.charAt(i));
            }
            String fixed = decodeUtf8(bytes);
            if (fixed != null) {
                return fixed;
            }
        }
        // mojibake inside otherwise sound text: fix each UTF-8-looking run on its own
        StringBuilder sb = new StringBuilder(text.length());
        int pos = 0;
        for (int[] r : runs) {
            sb.append(text, pos, r[0]);
            String run = text.substring(r[0], r[1]);
            sb.append(run.length() < text.length() && runLooksBad(text, r[0], r[1]) ? fixEncoding(run) : run);
            pos = r[1];
        }
        sb.append(text, pos, text.length());
        String fixed = sb.toString();
        if (!fixed.equals(text)) {
            return fixed;
        }
        if (latin1 && c1) {
            // latin-1 bytes read as strict windows-1252 (fails on its five undefined bytes)
            StringBuilder w1252 = new StringBuilder(text.length());
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                if (c >= 0x80 && c <= 0x9F) {
                    char w = WINDOWS_1252_C1[c - 0x80];
                    if (w == c) {
                        return fixC1Controls(text);
                    }
                    w1252.append(w);
                } else {
                    w1252.append(c);
                }
            }
            return w1252.toString();
        }
        return c1 ? fixC1Controls(text) : text;
    }

    /**
     * Runs of characters that look like UTF-8 read as Latin-1/windows-1252: one or more sequences
     * of a lead (bytes C2..DF, E0..EF, or ð/ó) followed by the matching number of continuation
     * characters, not preceded by a strict continuation character (ftfy's {@code UTF8_DETECTOR_RE},
     * restricted to the Latin-1 and windows-1252 readings).
     */
    private static List<int[]> utf8LookingRuns(String text) {
        List<int[]> runs = new ArrayList<>();
        int i = 0;
        int n = text.length();
        while (i < n) {
            int end = i;
            if (i == 0 || !isStrictContinuation(text.charAt(i - 1))) {
                while (end < n) {
                    int len = sequenceLength(text.charAt(end));
                    if (len == 0 || end + len > n) {
                        break;
                    }
                    boolean ok = true;
                    for (int k = 1; k < len; k++) {
                        ok &= isContinuation(text.charAt(end + k));
                    }
                    if (!ok) {
                        break;
                    }
                    end += len;
                }
            }
            if (end > i) {
                runs.add(new int[] {i, end});
                i = end;
            } else {
                i++;
            }
        }
        return runs;
    }

    /** The UTF-8 sequence length a character's Latin-1/windows-1252 byte would lead, or 0. */
    private static int sequenceLength(char c) {
        if (c >= 0xC2 && c <= 0xDF) {
            return 2;
        }
        if (c >= 0xE0 && c <= 0xEF) {
            return 3;
        }
        if (c == 0xF0 || c == 0xF3) {
            return 4;
        }
        return 0;
    }

    /**
     * A continuation character: bytes 80..BF read as Latin-1 or windows-1252, a space (standing
     * for a lost no-break space), or Æ æ Ø ø (continuation bytes in MacRoman).
     */
    private static boolean isContinuation(char c) {
        if (c == ' ' || c == '\u00C6' || c == '\u00E6' || c == '\u00D8' || c == '\u00F8') {
            return true;
        }
        int b = c <= 0xFF ? c : windows1252Byte(c);
        return b >= 0x80 && b <= 0xBF;
    }

    /** Continuation characters that also stand for themselves next to mojibake. */
    private static boolean isPlausibleAfterLetter(char c) {
        return c == ' ' || c == '\u2013' || c == '\u2014' || c == '\u2015' || c == '\u2018'
                || c == '\u2019' || c == '\u201A' || c == '\u201C' || c == '\u201D' || c == '\u201E'
                || c == '\u2022' || c == '\u2026';
    }

    private static boolean isStrictContinuation(char c) {
        return isContinuation(c) && !isPlausibleAfterLetter(c);
    }

    /**
     * This port's stand-in for ftfy's badness test on one run. A run is taken as mojibake when it
     * holds a C1 control or a rarely used symbol (¤ ¦ ¨ ¬ ¯ ´ ¸ ƒ ˆ ‰ ˜ ™ Š š Œ œ Ž ž Ÿ ‹ ›), when
     * it starts with Â Ã Î Ð, when an accented capital is followed by ² ³ ¹ ¼ ½ ¾ ¶ §, or when an
     * accented small letter is followed by a currency sign (¢ £ ¥ €): sequences that sound text
     * hardly ever contains and that UTF-8 read as windows-1252 produces all the time.
     */
    private static boolean runLooksBad(String text, int start, int end) {
        char lead = text.charAt(start);
        if (lead == '\u00C2' || lead == '\u00C3' || lead == '\u00CE' || lead == '\u00D0') {
            return true;
        }
        for (int i = start; i < end; i++) {
            char c = text.charAt(i);
            if ((c >= 0x80 && c <= 0x9F) || RARE_SYMBOLS.indexOf(c) >= 0) {
                return true;
            }
            if (i + 1 < end && sequenceLength(c) > 0) {
                char next = text.charAt(i + 1);
                boolean upperAccented = c >= 0xC0 && c <= 0xDE && c != 0xD7;
                boolean lowerAccented = c >= 0xDF && c <= 0xFF && c != 0xF7;
                if (upperAccented && "\u00B2\u00B3\u00B9\u00BC\u00BD\u00BE\u00B6\u00A7".indexOf(next) >= 0) {
                    return true;
                }
                if (lowerAccented && "\u00A2\u00A3\u00A5\u20AC".indexOf(next) >= 0) {
                    return true;
                }
            }
        }
        return false;
    }

    private static final String RARE_SYMBOLS =
            "\u00A4\u00A6\u00A8\u00AC\u00AF\u00B4\u00B8\u0192\u02C6\u2030\u02DC\u2122"
                    + "\u0160\u0161\u0152\u0153\u017D\u017E\u0178\u2039\u203A";

    private static byte[] latin1Bytes(String text) {
        byte[] bytes = new byte[text.length()];
        for (int i = 0; i < text.length(); i++) {
            bytes[i] = (byte) text.charAt(i);
        }
        return bytes;
    }

    /** Strict UTF-8 decoding of bytes holding a multi-byte sequence; null if invalid or plain. */
    private static String decodeUtf8(byte[] bytes) {
        boolean multiByte = false;
        for (byte b : bytes) {
            if ((b & 0xFF) == 0xED || (b & 0xFF) == 0xC0) {
                // ftfy switches to its CESU-8 / Java-UTF-8 decoder here: not covered
                return null;
            }
            if ((b & 0xC0) == 0xC0) {
                multiByte = true;
            }
        }
        if (!multiByte) {
            return null;
        }
        try {
            return StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /** The byte of {@code c} in ftfy's sloppy windows-1252, or -1 if it has none. */
    private static int windows1252Byte(char c) {
        if (c < 0x80 || (c >= 0xA0 && c <= 0xFF)) {
            return c;
        }
        Integer b = WINDOWS_1252_REVERSE.get(c);
        return b == null ? -1 : b;
    }

    /**
     * The character ftfy's sloppy windows-1252 decodes byte {@code b} (0x80..0x9F) to; its five
     * undefined bytes decode to the C1 control of the same value.
     *
     * @param b a byte value 0x80..0x9F
     * @return the character
     */
    static char sloppyWindows1252(int b) {
        return WINDOWS_1252_C1[b - 0x80];
    }

    private static String fixC1Controls(String text) {
        StringBuilder sb = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c >= 0x80 && c <= 0x9F) {
                if (sb == null) {
                    sb = new StringBuilder(text.length()).append(text, 0, i);
                }
                sb.append(WINDOWS_1252_C1[c - 0x80]);
            } else if (sb != null) {
                sb.append(c);
            }
        }
        return sb == null ? text : sb.toString();
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
