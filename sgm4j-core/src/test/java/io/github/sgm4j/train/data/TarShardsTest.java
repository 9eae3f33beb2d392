package io.github.sgm4j.train.data;

import static io.github.sgm4j.train.data.TestImages.rgb;
import static io.github.sgm4j.train.data.TestImages.scaled;
import static io.github.sgm4j.train.data.TestImages.utf8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TarShardsTest {

    @TempDir
    Path dir;

    /** Shard s holds samples s*per .. s*per+per-1, key %06d, a PNG of pattern seed k, txt and cls. */
    private List<Path> writeShards(int shards, int per) throws Exception {
        List<Path> out = new ArrayList<>();
        for (int s = 0; s < shards; s++) {
            Map<String, byte[]> m = new LinkedHashMap<>();
            for (int i = 0; i < per; i++) {
                int k = s * per + i;
                String key = String.format(Locale.ROOT, "%06d", k);
                m.put(key + ".png", TestImages.encode(TestImages.pattern(3, 4, k), "png"));
                m.put(key + ".txt", utf8("caption " + k + "\n"));
                m.put(key + ".cls", utf8(Integer.toString(k % 3)));
                m.put(key + ".json", utf8("{}"));
            }
            out.add(TestImages.tar(dir.resolve(String.format(Locale.ROOT, "shards/part-%03d.tar", s)), m));
        }
        return out;
    }

    private static TarShards shards(List<Path> files, int buffer) {
        return new TarShards(new TarShards.Params(files, new ImageTransform(3, false, false, false),
                List.of("jpg", "png"), true, true, buffer));
    }

    private static List<String> names(Loader l, int batches) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < batches; i++) {
            out.addAll(l.next().sources());
        }
        return out;
    }

    @Test
    void membersMakeSamplesInFileOrder() throws Exception {
        List<Path> files = writeShards(2, 3);
        TarShards ds = shards(files, 0);
        assertEquals(List.of("jpg", "original_size_as_tuple", "crop_coords_top_left", "target_size_as_tuple", "cls", "txt"),
                ds.keys());
        try (Loader l = new Loader(ds, new Loader.Options(6, 2, 2, false, false), 0L)) {
            Batch b = l.next();
            assertEquals(6, b.size());
            assertEquals(files.get(0) + ":000000", b.sources().get(0));
            assertEquals(files.get(1) + ":000005", b.sources().get(5));
            assertArrayEquals(new long[] {0, 1, 2, 0, 1, 2}, b.longs("cls"));
            assertEquals("caption 4", b.texts("txt").get(4));
            float[] x = b.floats("jpg");
            // 3x4 -> centre crop 3x3 at left round(0.5) = 0 (half to even)
            for (int c = 0; c < 3; c++) {
                for (int i = 0; i < 3; i++) {
                    for (int j = 0; j < 3; j++) {
                        assertEquals(scaled(rgb(i, j, 4)[c]), x[4 * 27 + c * 9 + i * 3 + j], 0f);
                    }
                }
            }
            assertArrayEquals(new float[] {3, 4}, Arrays.copyOfRange(b.floats("original_size_as_tuple"), 8, 10));
            assertEquals(new Position(0, 6), l.position());
            assertEquals(new Position(1, 6), l.next().end());
        }
    }

    @Test
    void shardPatterns() throws Exception {
        List<Path> files = writeShards(3, 1);
        String base = dir.resolve("shards").toString();
        assertEquals(files, ShardPatterns.list(base + "/part-{000..002}.tar"));
        assertEquals(List.of(files.get(2), files.get(0)), ShardPatterns.list(base + "/part-{002,000}.tar"));
        assertEquals(files, ShardPatterns.list(base + "/part-*.tar"));
        assertEquals(files, ShardPatterns.list(base));
        assertEquals(List.of("a01b", "a01c", "a02b", "a02c"), ShardPatterns.expandBraces("a{01..02}{b,c}"));
        DataException missing = assertThrows(DataException.class, () -> ShardPatterns.list(base + "/part-{000..003}.tar"));
        assertTrue(missing.getMessage().contains("part-003.tar") && missing.getMessage().contains("does not exist"),
                missing.getMessage());
        assertThrows(DataException.class, () -> ShardPatterns.list(base + "/nothing-*.tar"));
        assertThrows(DataException.class, () -> ShardPatterns.list(base + "/part-{000..002.tar"));
        Files.createDirectories(dir.resolve("emptydir"));
        DataException none = assertThrows(DataException.class, () -> ShardPatterns.list(dir.resolve("emptydir").toString()));
        assertTrue(none.getMessage().contains("no .tar"), none.getMessage());
    }

    @Test
    void gzippedShardsAreRead() throws Exception {
        Path plain = writeShards(1, 2).get(0);
        Path gz = dir.resolve("shards/z.tar.gz");
        try (OutputStream o = new GZIPOutputStream(Files.newOutputStream(gz))) {
            o.write(Files.readAllBytes(plain));
        }
        try (Loader a = new Loader(shards(List.of(plain), 0), new Loader.Options(2, 0, 2, false, false), 0L);
                Loader b = new Loader(shards(List.of(gz), 0), new Loader.Options(2, 0, 2, false, false), 0L)) {
            assertArrayEquals(a.next().floats("jpg"), b.next().floats("jpg"), 0f);
        }
    }

    @Test
    void shuffledOrderIsSeededAndResumable() throws Exception {
        List<Path> files = writeShards(4, 5);
        TarShards ds = shards(files, 6);
        List<String> a;
        List<String> b;
        try (Loader l = new Loader(ds, new Loader.Options(4, 2, 2, true, false), 9L)) {
            a = names(l, 10);
        }
        try (Loader l = new Loader(ds, new Loader.Options(4, 0, 2, true, false), 9L)) {
            b = names(l, 10);
        }
        assertEquals(a, b);
        assertEquals(20, a.subList(0, 20).stream().distinct().count());
        assertNotEquals(a.subList(0, 20), a.subList(20, 40), "two epochs gave the same order");
        List<String> sorted = new ArrayList<>(a.subList(0, 20));
        sorted.sort(null);
        assertNotEquals(sorted, a.subList(0, 20), "shuffling left the order as stored");
        Position p;
        List<String> rest;
        try (Loader l = new Loader(ds, new Loader.Options(4, 2, 2, true, false), 9L)) {
            names(l, 7);
            p = l.position();
            rest = names(l, 3);
        }
        assertEquals(new Position(1, 8), p);
        try (Loader l = new Loader(ds, new Loader.Options(4, 3, 1, true, false), 9L)) {
            l.seek(p);
            assertEquals(rest, names(l, 3));
        }
        assertEquals(a.subList(28, 40), rest);
    }

    @Test
    void truncatedShardsAndIncompleteSamplesAreNamedOrSkipped() throws Exception {
        List<Path> files = writeShards(2, 4);
        byte[] t = Files.readAllBytes(files.get(0));
        Path cut = dir.resolve("shards/cut.tar");
        Files.write(cut, Arrays.copyOf(t, t.length * 3 / 5));
        Map<String, byte[]> odd = new LinkedHashMap<>();
        odd.put("a/x1.txt", utf8("no image here"));
        odd.put("a/x1.cls", utf8("1"));
        odd.put("a/x2.png", TestImages.encode(TestImages.pattern(3, 3, 0), "png"));
        odd.put("a/x2.txt", utf8("bad label"));
        odd.put("a/x2.cls", utf8("one"));
        odd.put("a/x3.png", new byte[] {1, 2, 3});
        odd.put("a/x3.txt", utf8("corrupt"));
        odd.put("a/x3.cls", utf8("0"));
        Path oddTar = TestImages.tar(dir.resolve("shards/odd.tar"), odd);
        TarShards ds = shards(List.of(cut, oddTar, files.get(1)), 0);
        try (Loader l = new Loader(ds, new Loader.Options(2, 2, 2, false, false), 0L)) {
            l.next();
            DataException e = assertThrows(DataException.class, l::next);
            assertTrue(e.getMessage().contains("cut.tar") && e.getMessage().contains("truncated"), e.getMessage());
        }
        try (Loader l = new Loader(ds, new Loader.Options(2, 2, 2, false, true), 0L)) {
            List<String> got = names(l, 3);
            // the cut shard gives its complete samples, then one bad item; odd.tar three bad items
            assertEquals(4, l.skippedFiles(), got.toString());
            assertTrue(got.get(got.size() - 1).startsWith(files.get(1).toString()), got.toString());
        }
        for (String member : List.of("a/x1", "a/x2", "a/x3")) {
            try (Loader l = new Loader(shards(List.of(oddTar), 0), new Loader.Options(1, 0, 1, false, false), 0L)) {
                l.seek(0, Integer.parseInt(member.substring(3)) - 1);
                DataException e = assertThrows(DataException.class, l::next);
                assertTrue(e.getMessage().contains(oddTar + ":" + member), e.getMessage());
            }
        }
    }

    @Test
    void tarMemberKeysFollowWebdataset() {
        assertArrayEquals(new String[] {"dir/000123", "jpg"}, TarShards.split("dir/000123.jpg"));
        assertArrayEquals(new String[] {"d.x/abc", "seg.png"}, TarShards.split("d.x/abc.SEG.png"));
        assertArrayEquals(new String[] {"noext", ""}, TarShards.split("noext"));
    }
}
