package io.github.sgm4j.modules.encoders.text;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The part of ftfy's {@code fix_encoding} this library reimplements: UTF-8 that was decoded with a
 * single-byte encoding ("mojibake", {@code cafÃ©}) is encoded back and decoded as UTF-8.
 *
 * <p>Encodings tried, in ftfy's order: Latin-1, then windows-1252, -1251, -1250, -1253, -1254,
 * -1257 (read "sloppily": their undefined bytes stand for the C1 control of the same value), then
 * ISO-8859-2. A whole text is re-decoded when all of it fits one of them and its bytes are valid
 * UTF-8; otherwise each run that looks like UTF-8 read as one of these encodings is re-decoded on
 * its own. Both only happen when the text "looks bad" ({@link #runLooksBad}): this is a small
 * stand-in for ftfy's large badness table, tuned on the same idea (sequences sound text hardly ever
 * contains), not a copy of it.
 *
 * <p>Not covered: MacRoman and cp437, {@code restore_byte_a0} (a no-break space lost to a space),
 * {@code replace_lossy_sequences} (U+FFFD inside mojibake), and ftfy's CESU-8 / Java-UTF-8 decoder
 * (bytes ED or C0 in the re-encoded text).
 */
final class Mojibake {

    /** A single-byte encoding: the character of each byte and the byte of each character. */
    private record SingleByte(String name, char[] decode, Map<Character, Integer> encode) {

        static SingleByte of(String name, char[] decode) {
            Map<Character, Integer> encode = new HashMap<>();
            for (int b = 255; b >= 0; b--) {
                encode.put(decode[b], b);
            }
            return new SingleByte(name, decode, encode);
        }

        /** The bytes of {@code text}, or null if a character has none (U+001A only in Latin ones). */
        byte[] encode(String text) {
            byte[] out = new byte[text.length()];
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                Integer b = c < 0x80 ? Integer.valueOf(c) : encode.get(c);
                if (b == null || (c == 0x1A && sloppy())) {
                    return null;
                }
                out[i] = (byte) (int) b;
            }
            return out;
        }

        boolean sloppy() {
            return name.startsWith("sloppy");
        }
    }

    private static final char[] WINDOWS_1252_C1 = {
        '\u20AC', '\u0081', '\u201A', '\u0192', '\u201E', '\u2026', '\u2020', '\u2021',
        '\u02C6', '\u2030', '\u0160', '\u2039', '\u0152', '\u008D', '\u017D', '\u008F',
        '\u0090', '\u2018', '\u2019', '\u201C', '\u201D', '\u2022', '\u2013', '\u2014',
        '\u02DC', '\u2122', '\u0161', '\u203A', '\u0153', '\u009D', '\u017E', '\u0178'
    };

    private static final List<SingleByte> ENCODINGS = new ArrayList<>();

    /** Characters standing for bytes C2..DF, E0..EF and F0/F3 in any of the encodings. */
    private static final Set<Character> LEAD2 = new HashSet<>();
    private static final Set<Character> LEAD3 = new HashSet<>();
    private static final Set<Character> LEAD4 = new HashSet<>();
    /** Characters standing for bytes 80..BF in any of the encodings, and the space. */
    private static final Set<Character> CONTINUATION = new HashSet<>();

    /** Continuation characters that also stand for themselves next to mojibake. */
    private static final String LOOSE_CONTINUATION =
            " \u2013\u2014\u2015\u2018\u2019\u201A\u201C\u201D\u201E\u2022\u2026";

    private static final String RARE_SYMBOLS =
            "\u00A4\u00A6\u00A8\u00AC\u00AF\u00B4\u00B8\u0192\u02C6\u2030\u02DC\u2122"
                    + "\u0160\u0161\u0152\u0153\u017D\u017E\u0178\u2039\u203A";

    static {
        char[] latin1 = new char[256];
        char[] w1252 = new char[256];
        for (int b = 0; b < 256; b++) {
            latin1[b] = (char) b;
            w1252[b] = b >= 0x80 && b <= 0x9F ? WINDOWS_1252_C1[b - 0x80] : (char) b;
        }
        ENCODINGS.add(SingleByte.of("latin-1", latin1));
        ENCODINGS.add(sloppy("sloppy-windows-1252", w1252));
        for (String cs : new String[] {"windows-1251", "windows-1250", "windows-1253", "windows-1254", "windows-1257"}) {
            ENCODINGS.add(sloppy("sloppy-" + cs, javaTable(cs)));
        }
        ENCODINGS.add(SingleByte.of("iso-8859-2", javaTable("ISO-8859-2")));
        for (SingleByte e : ENCODINGS) {
            for (int b = 0x80; b <= 0xBF; b++) {
                CONTINUATION.add(e.decode()[b]);
            }
            for (int b = 0xC2; b <= 0xDF; b++) {
                LEAD2.add(e.decode()[b]);
            }
            for (int b = 0xE0; b <= 0xEF; b++) {
                LEAD3.add(e.decode()[b]);
            }
            LEAD4.add(e.decode()[0xF0]);
            LEAD4.add(e.decode()[0xF3]);
        }
        CONTINUATION.add(' ');
    }

    private Mojibake() {}

    /** ftfy's "sloppy" reading: undefined bytes stand for the C1 control of the same value. */
    private static SingleByte sloppy(String name, char[] table) {
        char[] t = table.clone();
        for (int b = 0; b < 256; b++) {
            if (t[b] == '\uFFFD') {
                t[b] = (char) b;
            }
        }
        return SingleByte.of(name, t);
    }

    private static char[] javaTable(String charset) {
        Charset cs = Charset.forName(charset);
        char[] t = new char[256];
        for (int b = 0; b < 256; b++) {
            String s = new String(new byte[] {(byte) b}, cs);
            t[b] = s.length() == 1 ? s.charAt(0) : '\uFFFD';
        }
        return t;
    }

    /**
     * The character windows-1252 (sloppily) gives byte {@code b} in 0x80..0x9F.
     *
     * @param b the byte value
     * @return the character
     */
    static char sloppyWindows1252(int b) {
        return WINDOWS_1252_C1[b - 0x80];
    }

    /**
     * Re-decodes mojibake until nothing changes.
     *
     * @param text the text
     * @return the text with the covered kinds of mojibake undone
     */
    static String fix(String text) {
        while (true) {
            String next = fixOneStep(text);
            if (next.equals(text)) {
                return text;
            }
            text = next;
        }
    }

    private static String fixOneStep(String text) {
        boolean ascii = true;
        boolean c1 = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            ascii &= c < 0x80;
            c1 |= c >= 0x80 && c <= 0x9F;
        }
        if (ascii) {
            return text;
        }
        List<int[]> runs = utf8LookingRuns(text);
        boolean bad = c1;
        for (int[] r : runs) {
            bad = bad || runLooksBad(text, r[0], r[1]);
        }
        if (!bad) {
            return text;
        }
        boolean latin1 = false;
        for (SingleByte e : ENCODINGS) {
            byte[] bytes = e.encode(text);
            if (bytes == null) {
                continue;
            }
            latin1 |= e.name().equals("latin-1");
            String fixed = decodeUtf8(bytes);
            if (fixed != null) {
                return fixed;
            }
        }
        // mojibake inside otherwise sound text: each UTF-8-looking run on its own
        StringBuilder sb = new StringBuilder(text.length());
        int pos = 0;
        for (int[] r : runs) {
            sb.append(text, pos, r[0]);
            String run = text.substring(r[0], r[1]);
            boolean fixable = run.length() < text.length() && runLooksBad(text, r[0], r[1]);
            sb.append(fixable ? fix(run) : run);
            pos = r[1];
        }
        sb.append(text, pos, text.length());
        String fixed = sb.toString();
        if (!fixed.equals(text)) {
            return fixed;
        }
        if (latin1 && c1) {
            // Latin-1 bytes read as strict windows-1252 (fails on its five undefined bytes)
            StringBuilder w = new StringBuilder(text.length());
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                if (c >= 0x80 && c <= 0x9F) {
                    char r = WINDOWS_1252_C1[c - 0x80];
                    if (r == c) {
                        return fixC1Controls(text);
                    }
                    w.append(r);
                } else {
                    w.append(c);
                }
            }
            return w.toString();
        }
        return c1 ? fixC1Controls(text) : text;
    }

    /**
     * C1 controls read as windows-1252 (its five undefined bytes stay).
     *
     * @param text the text
     * @return the text with C1 controls replaced
     */
    static String fixC1Controls(String text) {
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

    /** Strict UTF-8 decoding; null if invalid or if ftfy would need its CESU-8 decoder. */
    private static String decodeUtf8(byte[] bytes) {
        for (byte b : bytes) {
            if ((b & 0xFF) == 0xED || (b & 0xFF) == 0xC0) {
                return null;
            }
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

    /**
     * Runs that look like UTF-8 read as one of the encodings: one or more sequences of a lead
     * (bytes C2..DF, E0..EF, F0/F3) and the matching number of continuation characters (bytes
     * 80..BF, or a space standing for a lost no-break space), not preceded by a continuation
     * character other than a space, dash, bullet, quotation mark or ellipsis.
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
                        ok &= CONTINUATION.contains(text.charAt(end + k));
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

    private static int sequenceLength(char c) {
        if (LEAD2.contains(c)) {
            return 2;
        }
        if (LEAD3.contains(c)) {
            return 3;
        }
        return LEAD4.contains(c) ? 4 : 0;
    }

    private static boolean isStrictContinuation(char c) {
        return CONTINUATION.contains(c) && LOOSE_CONTINUATION.indexOf(c) < 0;
    }

    /**
     * This library's stand-in for ftfy's badness test on one run. A run is taken as mojibake when
     * it holds a C1 control, a rarely used symbol (¤ ¦ ¨ ¬ ¯ ´ ¸ ƒ ˆ ‰ ˜ ™ Š š Œ œ Ž ž Ÿ ‹ ›) after
     * anything but a non-Latin letter, when
     * it starts with Â Ã Î Ð, when an accented capital is followed by ² ³ ¹ ¼ ½ ¾ ¶ §, when an
     * accented small letter is followed by a currency sign (¢ £ ¥ €), when it holds "вЂ", or when
     * one of В Г Р С, a symbol (or µ) and again one of В Г Р С follow each other: sequences that
     * sound text hardly ever contains and that UTF-8 read as windows-1252 or -1251 produces all the
     * time.
     */
    private static boolean runLooksBad(String text, int start, int end) {
        char lead = text.charAt(start);
        if (lead == '\u00C2' || lead == '\u00C3' || lead == '\u00CE' || lead == '\u00D0') {
            return true;
        }
        for (int i = start; i < end; i++) {
            char c = text.charAt(i);
            if (c >= 0x80 && c <= 0x9F) {
                return true;
            }
            if (RARE_SYMBOLS.indexOf(c) >= 0 && i > start) {
                char prev = text.charAt(i - 1);
                if (!(Character.isLetter(prev) && prev >= 0x250)) {
                    return true;
                }
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
                if (c == '\u0432' && next == '\u0402') {
                    return true;
                }
                if (i + 2 < end && isCyrillicLeadVgrs(c) && isCyrillicLeadVgrs(text.charAt(i + 2))
                        && (next == '\u00B5' || !Character.isLetter(next))) {
                    return true;
                }
            }
        }
        return false;
    }

    private static boolean isCyrillicLeadVgrs(char c) {
        return c == '\u0412' || c == '\u0413' || c == '\u0420' || c == '\u0421';
    }
}
