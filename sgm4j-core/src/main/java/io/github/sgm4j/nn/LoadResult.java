package io.github.sgm4j.nn;

import java.util.List;

/**
 * What {@link Module#loadStateDict} found ({@code _IncompatibleKeys} plus shape mismatches).
 *
 * @param missingKeys keys the module has and the state dict lacks
 * @param unexpectedKeys keys the state dict has and the module lacks
 * @param shapeMismatches {@code key: expected [..], got [..]} lines
 */
public record LoadResult(List<String> missingKeys, List<String> unexpectedKeys, List<String> shapeMismatches) {

    /**
     * Compact constructor: defensive copies.
     *
     * @param missingKeys keys the module has and the state dict lacks
     * @param unexpectedKeys keys the state dict has and the module lacks
     * @param shapeMismatches one line per key whose shape differs
     */
    public LoadResult {
        missingKeys = List.copyOf(missingKeys);
        unexpectedKeys = List.copyOf(unexpectedKeys);
        shapeMismatches = List.copyOf(shapeMismatches);
    }

    /**
     * True when every key matched in name and shape.
     *
     * @return whether all three lists are empty
     */
    public boolean isClean() {
        return missingKeys.isEmpty() && unexpectedKeys.isEmpty() && shapeMismatches.isEmpty();
    }

    /**
     * A multi-line report naming every offending key (at most 20 of each kind).
     *
     * @return the report, or {@code all keys matched}
     */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        append(sb, "missing keys", missingKeys);
        append(sb, "unexpected keys", unexpectedKeys);
        append(sb, "shape mismatches", shapeMismatches);
        return sb.length() == 0 ? "all keys matched" : sb.toString().trim();
    }

    private static void append(StringBuilder sb, String title, List<String> keys) {
        if (keys.isEmpty()) {
            return;
        }
        sb.append(title).append(" (").append(keys.size()).append("):");
        int n = Math.min(20, keys.size());
        for (int i = 0; i < n; i++) {
            sb.append("\n  ").append(keys.get(i));
        }
        if (keys.size() > n) {
            sb.append("\n  ... and ").append(keys.size() - n).append(" more");
        }
        sb.append('\n');
    }
}
