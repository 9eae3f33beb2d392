package io.github.sgm4j.modules.encoders.text;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Character data as the reference sees it, read from {@code clip_unicode_classes.txt} (generated
 * from Python's {@code regex} module and {@code unicodedata}; the JVM's tables are of an older
 * Unicode version): the three classes of CLIP's pre-tokenisation pattern under IGNORECASE, Python's
 * lower-case mapping and the canonical combining classes.
 */
final class UnicodeTables {

    private static final String RESOURCE = "clip_unicode_classes.txt";

    /** {@code [\p{L}]} under IGNORECASE. */
    static final Ranges LETTERS;
    /** {@code [\p{N}]} under IGNORECASE. */
    static final Ranges NUMBERS;
    /** {@code [^\s\p{L}\p{N}]} under IGNORECASE. */
    static final Ranges OTHERS;
    /** Ranges with a nonzero canonical combining class. */
    static final Ranges COMBINING;

    private static final Map<Integer, Integer> LOWER = new HashMap<>();
    private static final int[] COMBINING_CLASS;

    static {
        List<int[]> l = new ArrayList<>();
        List<int[]> n = new ArrayList<>();
        List<int[]> o = new ArrayList<>();
        List<int[]> m = new ArrayList<>();
        List<Integer> mClass = new ArrayList<>();
        try (InputStream in = UnicodeTables.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("resource " + RESOURCE + " is missing from the classpath");
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            String line;
            int lineNo = 0;
            while ((line = r.readLine()) != null) {
                lineNo++;
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                String[] p = line.split(" ");
                String kind = p[0];
                if (kind.equals("C") && p.length == 3) {
                    LOWER.put(Integer.parseInt(p[1], 16), Integer.parseInt(p[2], 16));
                } else if (kind.equals("M") && p.length == 4) {
                    m.add(new int[] {Integer.parseInt(p[1], 16), Integer.parseInt(p[2], 16)});
                    mClass.add(Integer.parseInt(p[3]));
                } else if (p.length == 3 && (kind.equals("L") || kind.equals("N") || kind.equals("O"))) {
                    int[] range = {Integer.parseInt(p[1], 16), Integer.parseInt(p[2], 16)};
                    (kind.equals("L") ? l : kind.equals("N") ? n : o).add(range);
                } else {
                    throw new IllegalStateException(
                            RESOURCE + " line " + lineNo + ": expected 'L|N|O first last', 'C cp lower' or"
                                    + " 'M first last class', got \"" + line + "\"");
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read resource " + RESOURCE, e);
        }
        LETTERS = new Ranges(l);
        NUMBERS = new Ranges(n);
        OTHERS = new Ranges(o);
        COMBINING = new Ranges(m);
        COMBINING_CLASS = mClass.stream().mapToInt(Integer::intValue).toArray();
    }

    private UnicodeTables() {}

    /** Python's lower case of one code point (U+0130 and U+03A3 are handled by the caller). */
    static int lower(int cp) {
        return LOWER.getOrDefault(cp, cp);
    }

    /** Python's {@code unicodedata.combining}. */
    static int combiningClass(int cp) {
        int i = COMBINING.indexOf(cp);
        return i < 0 ? 0 : COMBINING_CLASS[i];
    }

    /** Sorted, disjoint code-point ranges with a binary search. */
    static final class Ranges {
        private final int[] starts;
        private final int[] ends;

        Ranges(List<int[]> ranges) {
            starts = new int[ranges.size()];
            ends = new int[ranges.size()];
            for (int i = 0; i < starts.length; i++) {
                starts[i] = ranges.get(i)[0];
                ends[i] = ranges.get(i)[1];
            }
        }

        boolean contains(int cp) {
            return indexOf(cp) >= 0;
        }

        /** The index of the range holding {@code cp}, or -1. */
        int indexOf(int cp) {
            int i = Arrays.binarySearch(starts, cp);
            if (i >= 0) {
                return i;
            }
            int before = -i - 2;
            return before >= 0 && cp <= ends[before] ? before : -1;
        }
    }
}
