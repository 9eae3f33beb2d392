package io.github.sgm4j.modules.encoders.text;

import java.util.Arrays;
import java.util.List;

/** Row assembly shared by the CLIP tokenizers: start, ids truncated to fit, end, padding. */
final class ClipRows {

    private ClipRows() {}

    static int[] row(int startId, List<Integer> ids, int endId, int padId, int contextLength) {
        int[] row = new int[contextLength];
        Arrays.fill(row, padId);
        int keep = Math.min(ids.size(), contextLength - 2);
        row[0] = startId;
        for (int i = 0; i < keep; i++) {
            row[1 + i] = ids.get(i);
        }
        row[1 + keep] = endId;
        return row;
    }
}
