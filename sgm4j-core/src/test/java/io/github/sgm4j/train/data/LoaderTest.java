package io.github.sgm4j.train.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LoaderTest {

    @TempDir
    Path dir;

    /** Items 0..n-1 whose decoding sleeps a pseudo-random time and records the item's random stream. */
    private static Dataset synthetic(int n, boolean badEvery7) {
        return new Dataset() {
            @Override
            public String description() {
                return "synthetic(" + n + ")";
            }

            @Override
            public long size() {
                return n;
            }

            @Override
            public List<String> keys() {
                return List.of("jpg", "cls");
            }

            @Override
            public ItemStream open(long epoch, long seed, boolean shuffle) {
                int[] order = shuffle ? SeededRandom.of(seed, epoch, 99).permutation(n) : null;
                return new ItemStream() {
                    int pos;

                    @Override
                    public Item next() {
                        if (pos >= n) {
                            return null;
                        }
                        int i = order == null ? pos : order[pos];
                        pos++;
                        return new Item() {
                            @Override
                            public String name() {
                                return "item" + i;
                            }

                            @Override
                            public Sample decode(SeededRandom rng) {
                                LockSupport.parkNanos((i * 7919L % 13) * 100_000L);
                                if (badEvery7 && i % 7 == 3) {
                                    throw new DataException("item" + i + ": bad");
                                }
                                float r = (float) (rng.nextLong() >>> 40);
                                return new Sample("item" + i).image("jpg", new Sample.Image(1, 1, 2, new float[] {i, r}))
                                        .label("cls", i);
                            }
                        };
                    }

                    @Override
                    public void close() {}
                };
            }
        };
    }

    private static List<Batch> take(Loader l, int n) {
        List<Batch> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(l.next());
        }
        return out;
    }

    private static void assertSame(List<Batch> a, List<Batch> b) {
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i).sources(), b.get(i).sources(), "batch " + i);
            assertArrayEquals(a.get(i).floats("jpg"), b.get(i).floats("jpg"), 0f, "batch " + i);
            assertArrayEquals(a.get(i).longs("cls"), b.get(i).longs("cls"), "batch " + i);
            assertEquals(a.get(i).end(), b.get(i).end(), "batch " + i);
        }
    }

    @Test
    void prefetchKeepsTheOrderUnderSeveralThreads() {
        Dataset ds = synthetic(40, false);
        List<Batch> inline;
        try (Loader l = new Loader(ds, new Loader.Options(5, 0, 2, true, false), 3L)) {
            inline = take(l, 20);
        }
        for (int workers : new int[] {1, 3, 4}) {
            for (int prefetch : new int[] {1, 3}) {
                try (Loader l = new Loader(ds, new Loader.Options(5, workers, prefetch, true, false), 3L)) {
                    assertSame(inline, take(l, 20));
                }
            }
        }
    }

    @Test
    void shufflingIsDeterministicPerSeedAndEpoch() {
        Dataset ds = synthetic(32, false);
        List<Batch> a;
        List<Batch> b;
        List<Batch> c;
        try (Loader l = new Loader(ds, new Loader.Options(8, 2, 2, true, false), 11L)) {
            a = take(l, 8);
        }
        try (Loader l = new Loader(ds, new Loader.Options(8, 0, 2, true, false), 11L)) {
            b = take(l, 8);
        }
        try (Loader l = new Loader(ds, new Loader.Options(8, 0, 2, true, false), 12L)) {
            c = take(l, 4);
        }
        assertSame(a, b);
        List<String> epoch0 = new ArrayList<>();
        List<String> epoch1 = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            epoch0.addAll(a.get(i).sources());
            epoch1.addAll(a.get(i + 4).sources());
        }
        assertNotEquals(epoch0, epoch1, "two epochs gave the same order");
        assertEquals(32, epoch0.stream().distinct().count());
        assertEquals(new java.util.TreeSet<>(epoch0), new java.util.TreeSet<>(epoch1));
        List<String> other = new ArrayList<>();
        c.forEach(x -> other.addAll(x.sources()));
        assertNotEquals(epoch0, other, "two seeds gave the same order");
        try (Loader l = new Loader(ds, new Loader.Options(8, 0, 2, false, false), 11L)) {
            assertEquals(List.of("item0", "item1", "item2", "item3", "item4", "item5", "item6", "item7"), l.next().sources());
        }
    }

    @Test
    void seekingToASavedPositionGivesTheSameBatches() {
        Dataset ds = synthetic(30, true);
        List<Batch> run;
        List<Position> positions = new ArrayList<>();
        try (Loader l = new Loader(ds, new Loader.Options(4, 2, 2, true, true), 5L)) {
            for (int i = 0; i < 15; i++) {
                positions.add(l.position());
                l.next();
            }
        }
        try (Loader full = new Loader(ds, new Loader.Options(4, 2, 2, true, true), 5L)) {
            run = take(full, 15);
        }
        for (int k : new int[] {1, 5, 6, 7, 12}) {
            Position p = Position.parse(positions.get(k).toString());
            try (Loader resumed = new Loader(ds, new Loader.Options(4, k % 2 == 0 ? 0 : 3, 2, true, true), 5L)) {
                resumed.next();
                resumed.seek(p);
                assertSame(run.subList(k, 15), take(resumed, 15 - k));
            }
        }
        assertEquals(positions.get(6), run.get(5).end());
    }

    @Test
    void theIncompleteLastBatchIsDroppedAndEmptyEpochsFail() {
        Dataset ds = synthetic(10, false);
        try (Loader l = new Loader(ds, new Loader.Options(4, 0, 2, false, false), 0L)) {
            assertEquals(2, l.batchesPerEpoch());
            take(l, 2);
            Batch third = l.next();
            assertEquals(List.of("item0", "item1", "item2", "item3"), third.sources());
            assertEquals(new Position(1, 4), l.position());
        }
        try (Loader l = new Loader(synthetic(3, false), new Loader.Options(4, 2, 2, false, false), 0L)) {
            DataException e = assertThrows(DataException.class, l::next);
            assertTrue(e.getMessage().contains("gave no complete batch of 4"), e.getMessage());
        }
        Loader closed = new Loader(ds, new Loader.Options(2, 2, 2, false, false), 0L);
        closed.next();
        closed.close();
        closed.close();
        assertThrows(IllegalStateException.class, closed::next);
    }

    @Test
    void aDatasetThatCannotBeOpenedFailsEveryCall() {
        Dataset broken = new Dataset() {
            @Override
            public String description() {
                return "broken";
            }

            @Override
            public long size() {
                return -1;
            }

            @Override
            public List<String> keys() {
                return List.of();
            }

            @Override
            public ItemStream open(long epoch, long seed, boolean shuffle) {
                throw new DataException("shard list vanished");
            }
        };
        for (int workers : new int[] {0, 2}) {
            try (Loader l = new Loader(broken, new Loader.Options(2, workers, 2, true, true), 0L)) {
                assertEquals("shard list vanished", assertThrows(DataException.class, l::next).getMessage());
                assertEquals("shard list vanished", assertThrows(DataException.class, l::next).getMessage());
            }
        }
    }

    @Test
    void badItemsFailWithoutSkipping() {
        try (Loader l = new Loader(synthetic(10, true), new Loader.Options(5, 2, 2, false, false), 0L)) {
            DataException e = assertThrows(DataException.class, l::next);
            assertEquals("item3: bad", e.getMessage());
        }
    }

    @Test
    void batchesBecomeArraysInTheCallersManager() throws Exception {
        for (int n = 0; n < 4; n++) {
            TestImages.write(dir.resolve("c" + (n % 2) + "/i" + n + ".png"), TestImages.pattern(4, 4, n), "png");
        }
        ImageFolder ds = new ImageFolder(new ImageFolder.Params(dir, new ImageTransform(4, true, true, false),
                ImageFolder.DEFAULT_EXTENSIONS, true, false));
        try (Loader l = new Loader(ds, new Loader.Options(4, 2, 2, true, false), 1L);
                NDManager m = NDManager.newBaseManager()) {
            Batch b = l.next();
            Map<String, NDArray> arrays = b.toArrays(m);
            assertEquals(List.of("jpg", "original_size_as_tuple", "crop_coords_top_left", "target_size_as_tuple", "cls"),
                    List.copyOf(arrays.keySet()));
            assertEquals(new Shape(4, 3, 4, 4), arrays.get("jpg").getShape());
            assertEquals(DataType.FLOAT32, arrays.get("jpg").getDataType());
            assertEquals(new Shape(4, 2), arrays.get("original_size_as_tuple").getShape());
            assertEquals(DataType.INT64, arrays.get("cls").getDataType());
            assertArrayEquals(b.floats("jpg"), arrays.get("jpg").toFloatArray(), 0f);
            assertArrayEquals(b.longs("cls"), arrays.get("cls").toLongArray());
            assertTrue(Files.exists(dir));
        }
    }

    @Test
    void seededRandomIsPinned() {
        // the sequence is part of the resume contract: it must not change between versions or JVMs.
        // SplitMix64's published first outputs for seed 0; the permutation from an independent Python
        // implementation of SeededRandom.of and permutation
        SeededRandom r = new SeededRandom(0);
        assertEquals(0xE220A8397B1DCDAFL, r.nextLong());
        assertEquals(0x6E789E6AA1B965F4L, r.nextLong());
        int[] p = SeededRandom.of(42, 0, 7).permutation(10);
        int[] sorted = p.clone();
        java.util.Arrays.sort(sorted);
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, sorted);
        assertArrayEquals(PINNED, p);
    }

    private static final int[] PINNED = {1, 0, 5, 7, 6, 9, 8, 4, 3, 2};
}
