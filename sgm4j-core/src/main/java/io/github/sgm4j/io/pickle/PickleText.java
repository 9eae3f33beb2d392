package io.github.sgm4j.io.pickle;

/** The text encodings of protocol 0: a quoted {@code repr} string (STRING) and raw-unicode-escape (UNICODE). */
final class PickleText {

    private PickleText() {}

    /** Decodes {@code 'abc\n'} / {@code "abc"} as Python 2's {@code repr} of a byte string wrote it. */
    static String unquote(String s) {
        if (s.length() < 2 || (s.charAt(0) != '\'' && s.charAt(0) != '"') || s.charAt(s.length() - 1) != s.charAt(0)) {
            throw new PickleException("STRING argument is not a quoted string");
        }
        String body = s.substring(1, s.length() - 1);
        StringBuilder sb = new StringBuilder(body.length());
        for (int i = 0; i < body.length(); i++) {
            char c = body.charAt(i);
            if (c != '\\') {
                sb.append(c);
                continue;
            }
            if (++i >= body.length()) {
                throw new PickleException("STRING ends inside an escape");
            }
            char e = body.charAt(i);
            switch (e) {
                case '\\', '\'', '"' -> sb.append(e);
                case 'n' -> sb.append('\n');
                case 't' -> sb.append('\t');
                case 'r' -> sb.append('\r');
                case 'a' -> sb.append('\u0007');
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case 'v' -> sb.append('\u000b');
                case 'x' -> {
                    sb.append((char) hex(body, i + 1, 2));
                    i += 2;
                }
                default -> {
                    if (e >= '0' && e <= '7') {
                        int v = 0;
                        int n = 0;
                        while (n < 3 && i < body.length() && body.charAt(i) >= '0' && body.charAt(i) <= '7') {
                            v = v * 8 + (body.charAt(i++) - '0');
                            n++;
                        }
                        i--;
                        sb.append((char) (v & 0xff));
                    } else {
                        sb.append('\\').append(e);
                    }
                }
            }
        }
        return sb.toString();
    }

    /** Decodes {@code \\uXXXX} and {@code \\UXXXXXXXX}; other characters stand for themselves. */
    static String rawUnicodeEscape(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length() && (s.charAt(i + 1) == 'u' || s.charAt(i + 1) == 'U')) {
                int n = s.charAt(i + 1) == 'u' ? 4 : 8;
                int cp = hex(s, i + 2, n);
                if (!Character.isValidCodePoint(cp)) {
                    throw new PickleException("UNICODE escape U+" + Integer.toHexString(cp) + " is not a code point");
                }
                sb.appendCodePoint(cp);
                i += 1 + n;
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private static int hex(String s, int at, int n) {
        if (at + n > s.length()) {
            throw new PickleException("escape ends early");
        }
        long v = 0;
        for (int k = 0; k < n; k++) {
            int d = Character.digit(s.charAt(at + k), 16);
            if (d < 0) {
                throw new PickleException("bad hex digit in an escape");
            }
            v = v * 16 + d;
        }
        return v > Integer.MAX_VALUE ? -1 : (int) v;
    }
}
