package io.github.sgm4j.config;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Closest-name suggestions (Levenshtein distance) for misspelled keys and targets. */
final class Suggest {

    private Suggest() {}

    static List<String> closest(String name, Iterable<String> candidates, int max) {
        List<String[]> scored = new ArrayList<>();
        for (String c : candidates) {
            int d = distance(name.toLowerCase(java.util.Locale.ROOT), c.toLowerCase(java.util.Locale.ROOT));
            int limit = Math.max(2, Math.min(name.length(), c.length()) / 2);
            String simpleName = c.substring(c.lastIndexOf('.') + 1);
            String simpleWanted = name.substring(name.lastIndexOf('.') + 1);
            if (d <= limit || simpleName.equalsIgnoreCase(simpleWanted)) {
                scored.add(new String[] {c, Integer.toString(simpleName.equalsIgnoreCase(simpleWanted) ? -1 : d)});
            }
        }
        scored.sort(Comparator.comparingInt((String[] s) -> Integer.parseInt(s[1])).thenComparing(s -> s[0]));
        List<String> out = new ArrayList<>();
        for (int i = 0; i < Math.min(max, scored.size()); i++) {
            out.add(scored.get(i)[0]);
        }
        return out;
    }

    static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
