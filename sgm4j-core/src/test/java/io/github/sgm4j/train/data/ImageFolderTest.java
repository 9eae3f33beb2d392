package io.github.sgm4j.train.data;

import static io.github.sgm4j.train.data.TestImages.rgb;
import static io.github.sgm4j.train.data.TestImages.scaled;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageFolderTest {

    @TempDir
    Path dir;

    private static ImageFolder folder(Path root, ImageTransform t, boolean classes, boolean captions) {
        return new ImageFolder(new ImageFolder.Params(root, t, ImageFolder.DEFAULT_EXTENSIONS, classes, captions));
    }

    private static Loader loader(Dataset ds, int batch, boolean shuffle, boolean skip) {
        return new Loader(ds, new Loader.Options(batch, 0, 2, shuffle, skip), 7L);
    }

    @Test
    void centreCropScalesExactly() throws Exception {
        TestImages.write(dir.resolve("a.png"), TestImages.pattern(4, 6, 0), "png");
        ImageFolder ds = folder(dir, new ImageTransform(4, false, false, false), false, false);
        try (Loader l = loader(ds, 1, false, false)) {
            Batch b = l.next();
            assertEquals(List.of("jpg", "original_size_as_tuple", "crop_coords_top_left", "target_size_as_tuple"),
                    List.copyOf(b.keys()));
            assertEquals(new ai.djl.ndarray.types.Shape(1, 3, 4, 4), b.shape("jpg"));
            float[] x = b.floats("jpg");
            for (int c = 0; c < 3; c++) {
                for (int i = 0; i < 4; i++) {
                    for (int j = 0; j < 4; j++) {
                        // centre crop of width 6 to 4: left = round(2 / 2) = 1
                        assertEquals(scaled(rgb(i, j + 1, 0)[c]), x[c * 16 + i * 4 + j], 0f, "c" + c + " y" + i + " x" + j);
                    }
                }
            }
            assertArrayEquals(new float[] {4, 6}, b.floats("original_size_as_tuple"));
            assertArrayEquals(new float[] {0, 1}, b.floats("crop_coords_top_left"));
            assertArrayEquals(new float[] {4, 4}, b.floats("target_size_as_tuple"));
        }
    }

    @Test
    void randomCropAndFlipFollowTheItemStream() throws Exception {
        for (int n = 0; n < 6; n++) {
            TestImages.write(dir.resolve("img" + n + ".png"), TestImages.pattern(5, 7, n), "png");
        }
        ImageFolder ds = folder(dir, new ImageTransform(5, true, true, false), false, false);
        boolean sawFlip = false;
        boolean sawPlain = false;
        try (Loader l = loader(ds, 1, false, false)) {
            for (int n = 0; n < 6; n++) {
                Batch b = l.next();
                SeededRandom r = SeededRandom.of(7L, 0, n);
                int top = r.nextInt(1);
                int left = r.nextInt(3);
                boolean flip = r.nextBoolean();
                sawFlip |= flip;
                sawPlain |= !flip;
                assertArrayEquals(new float[] {top, left}, b.floats("crop_coords_top_left"));
                float[] x = b.floats("jpg");
                for (int c = 0; c < 3; c++) {
                    for (int i = 0; i < 5; i++) {
                        for (int j = 0; j < 5; j++) {
                            int sx = left + (flip ? 4 - j : j);
                            assertEquals(scaled(rgb(top + i, sx, n)[c]), x[c * 25 + i * 5 + j], 0f);
                        }
                    }
                }
            }
        }
        assertTrue(sawFlip && sawPlain, "six items should show both flipped and unflipped crops");
    }

    @Test
    void resizeOfAConstantImageIsConstantAndSizesAreRecorded() throws Exception {
        BufferedImage img = new BufferedImage(3, 2, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < 2; y++) {
            for (int x = 0; x < 3; x++) {
                img.setRGB(x, y, (51 << 16) | (102 << 8) | 204);
            }
        }
        TestImages.write(dir.resolve("small.png"), img, "png");
        ImageFolder ds = folder(dir, new ImageTransform(4, false, false, false), false, false);
        try (Loader l = loader(ds, 1, false, false)) {
            Batch b = l.next();
            float[] x = b.floats("jpg");
            for (int i = 0; i < 16; i++) {
                assertEquals(scaled(51), x[i], 1e-6f);
                assertEquals(scaled(102), x[16 + i], 1e-6f);
                assertEquals(scaled(204), x[32 + i], 1e-6f);
            }
            // 2x3 -> shorter side 4: 4x6, centre crop left 1
            assertArrayEquals(new float[] {2, 3}, b.floats("original_size_as_tuple"));
            assertArrayEquals(new float[] {0, 1}, b.floats("crop_coords_top_left"));
        }
        ImageFolder strict = folder(dir, new ImageTransform(4, false, false, true), false, false);
        try (Loader l = loader(strict, 1, false, false)) {
            DataException e = assertThrows(DataException.class, l::next);
            assertTrue(e.getMessage().contains("small.png") && e.getMessage().contains("smaller than size 4"), e.getMessage());
        }
    }

    @Test
    void resizeUsesTheResampler() throws Exception {
        TestImages.write(dir.resolve("a.png"), TestImages.pattern(6, 9, 3), "png");
        ImageFolder ds = folder(dir, new ImageTransform(4, false, false, false), false, false);
        float[] src = ImageDecoder.decode(Files.readAllBytes(dir.resolve("a.png")), "a").rgb();
        float[] r = Resampler.clamp01(Resampler.resize(src, 3, 6, 9, 4, 6));
        try (Loader l = loader(ds, 1, false, false)) {
            float[] x = l.next().floats("jpg");
            for (int c = 0; c < 3; c++) {
                for (int i = 0; i < 4; i++) {
                    for (int j = 0; j < 4; j++) {
                        assertEquals(r[c * 24 + i * 6 + j + 1] * 2f - 1f, x[c * 16 + i * 4 + j], 0f);
                    }
                }
            }
        }
    }

    @Test
    void grayscaleAndRgbaBecomeRgb() throws Exception {
        BufferedImage g = new BufferedImage(2, 2, BufferedImage.TYPE_BYTE_GRAY);
        g.getRaster().setPixels(0, 0, 2, 2, new int[] {0, 64, 128, 255});
        TestImages.write(dir.resolve("g.png"), g, "png");
        BufferedImage a = new BufferedImage(2, 2, BufferedImage.TYPE_4BYTE_ABGR);
        a.getRaster().setPixels(0, 0, 2, 2, new int[] {10, 20, 30, 0, 40, 50, 60, 128, 70, 80, 90, 255, 1, 2, 3, 4});
        TestImages.write(dir.resolve("h.png"), a, "png");
        ImageDecoder.Decoded dg = ImageDecoder.decode(Files.readAllBytes(dir.resolve("g.png")), "g.png");
        assertEquals("grayscale", dg.converted());
        float[] want = {0, 64 / 255f, 128 / 255f, 1};
        for (int c = 0; c < 3; c++) {
            assertArrayEquals(want, Arrays.copyOfRange(dg.rgb(), c * 4, c * 4 + 4), 0f);
        }
        ImageDecoder.Decoded da = ImageDecoder.decode(Files.readAllBytes(dir.resolve("h.png")), "h.png");
        assertEquals("RGBA", da.converted());
        assertArrayEquals(new float[] {10 / 255f, 40 / 255f, 70 / 255f, 1 / 255f}, Arrays.copyOfRange(da.rgb(), 0, 4), 0f);
        assertArrayEquals(new float[] {30 / 255f, 60 / 255f, 90 / 255f, 3 / 255f}, Arrays.copyOfRange(da.rgb(), 8, 12), 0f);
        // mixed channel counts batch together as RGB
        ImageFolder ds = folder(dir, new ImageTransform(2, false, false, false), false, false);
        try (Loader l = loader(ds, 2, false, false)) {
            assertEquals(new ai.djl.ndarray.types.Shape(2, 3, 2, 2), l.next().shape("jpg"));
        }
    }

    @Test
    void jpegDecodes() throws Exception {
        BufferedImage img = new BufferedImage(16, 16, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                img.setRGB(x, y, ((8 * x + 4 * y) << 16) | (100 << 8) | 50);
            }
        }
        TestImages.write(dir.resolve("p.jpg"), img, "jpg");
        ImageDecoder.Decoded d = ImageDecoder.decode(Files.readAllBytes(dir.resolve("p.jpg")), "p.jpg");
        assertEquals(16, d.height());
        assertEquals(null, d.converted());
        double err = 0;
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                err += Math.abs(d.rgb()[y * 16 + x] * 255 - (8 * x + 4 * y));
            }
        }
        assertTrue(err / 256 < 4, "mean JPEG error " + err / 256);
    }

    @Test
    void classFoldersAndCaptions() throws Exception {
        TestImages.write(dir.resolve("zebra/a.png"), TestImages.pattern(2, 2, 0), "png");
        TestImages.write(dir.resolve("ant/deep/b.png"), TestImages.pattern(2, 2, 1), "png");
        TestImages.write(dir.resolve("ant/c.PNG"), TestImages.pattern(2, 2, 2), "png");
        TestImages.writeText(dir.resolve("zebra/a.txt"), "a striped horse\n");
        TestImages.writeText(dir.resolve("ant/deep/b.txt"), "  an ant  ");
        TestImages.writeText(dir.resolve("ant/c.txt"), "another ant");
        ImageFolder ds = folder(dir, new ImageTransform(2, false, false, false), true, true);
        assertEquals(List.of("ant", "zebra"), ds.classNames());
        assertEquals(List.of("jpg", "original_size_as_tuple", "crop_coords_top_left", "target_size_as_tuple", "cls", "txt"),
                ds.keys());
        try (Loader l = loader(ds, 3, false, false)) {
            Batch b = l.next();
            // relative-path order: ant/c.PNG, ant/deep/b.png, zebra/a.png
            assertArrayEquals(new long[] {0, 0, 1}, b.longs("cls"));
            assertEquals(List.of("another ant", "an ant", "a striped horse"), b.texts("txt"));
            assertEquals(List.copyOf(ds.keys()), List.copyOf(b.keys()));
        }
        Files.delete(dir.resolve("ant/c.txt"));
        try (Loader l = loader(ds, 3, false, false)) {
            DataException e = assertThrows(DataException.class, l::next);
            assertTrue(e.getMessage().contains("c.PNG") && e.getMessage().contains("c.txt"), e.getMessage());
        }
        TestImages.write(dir.resolve("loose.png"), TestImages.pattern(2, 2, 0), "png");
        DataException e = assertThrows(DataException.class,
                () -> folder(dir, new ImageTransform(2, false, false, false), true, false));
        assertTrue(e.getMessage().contains("loose.png"), e.getMessage());
    }

    @Test
    void badFolders() throws Exception {
        ImageTransform t = new ImageTransform(2, false, false, false);
        DataException missing = assertThrows(DataException.class, () -> folder(dir.resolve("nope"), t, false, false));
        assertTrue(missing.getMessage().contains("nope") && missing.getMessage().contains("does not exist"));
        Files.createDirectories(dir.resolve("empty/sub"));
        DataException empty = assertThrows(DataException.class, () -> folder(dir.resolve("empty"), t, false, false));
        assertTrue(empty.getMessage().contains("is empty"), empty.getMessage());
        TestImages.writeText(dir.resolve("other/readme.md"), "x");
        TestImages.write(dir.resolve("other/pic.gif"), TestImages.pattern(2, 2, 0), "gif");
        DataException none = assertThrows(DataException.class, () -> folder(dir.resolve("other"), t, false, false));
        assertTrue(none.getMessage().contains("none with the extensions") && none.getMessage().contains(".gif"),
                none.getMessage());
    }

    @Test
    void corruptAndTruncatedFilesAreNamedOrSkipped() throws Exception {
        for (int n = 0; n < 6; n++) {
            TestImages.write(dir.resolve("ok" + n + ".png"), TestImages.pattern(4, 4, n), "png");
        }
        byte[] jpg = TestImages.encode(TestImages.pattern(32, 32, 0), "jpg");
        Files.write(dir.resolve("cut.jpg"), Arrays.copyOf(jpg, jpg.length / 2));
        byte[] png = TestImages.encode(TestImages.pattern(32, 32, 0), "png");
        Files.write(dir.resolve("cut2.png"), Arrays.copyOf(png, png.length - 40));
        Files.write(dir.resolve("noise.png"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
        byte[] big = TestImages.encode(TestImages.pattern(64, 64, 0), "jpg");
        Files.write(dir.resolve("tail.jpg"), Arrays.copyOf(big, big.length * 9 / 10));
        ImageTransform t = new ImageTransform(4, false, false, false);
        for (String bad : List.of("cut.jpg", "cut2.png", "noise.png", "tail.jpg")) {
            DataException e = assertThrows(DataException.class,
                    () -> ImageDecoder.decode(Files.readAllBytes(dir.resolve(bad)), bad));
            assertTrue(e.getMessage().startsWith(bad + ":"), e.getMessage());
        }
        ImageFolder ds = folder(dir, t, false, false);
        try (Loader l = loader(ds, 2, false, false)) {
            DataException e = assertThrows(DataException.class, l::next);
            assertTrue(e.getMessage().contains("cut"), e.getMessage());
        }
        try (Loader l = loader(ds, 2, false, true)) {
            for (int i = 0; i < 3; i++) {
                for (String s : l.next().sources()) {
                    assertTrue(s.contains("ok"), s);
                }
            }
            // names sort as cut.jpg, cut2.png, noise.png, ok0..ok5, tail.jpg
            assertEquals(3, l.skippedFiles());
            assertEquals(new Position(0, 9), l.position());
            Batch b = l.next();
            assertEquals(7, l.skippedFiles());
            assertEquals(new Position(1, 0), b.start());
            assertEquals(new Position(1, 5), l.position());
        }
    }

    @Test
    void unreadableFilesAreNamedOrSkipped() throws Exception {
        for (int n = 0; n < 3; n++) {
            TestImages.write(dir.resolve("i" + n + ".png"), TestImages.pattern(2, 2, n), "png");
        }
        ImageFolder ds = folder(dir, new ImageTransform(2, false, false, false), false, false);
        Files.delete(dir.resolve("i1.png"));
        try (Loader l = loader(ds, 2, false, false)) {
            DataException e = assertThrows(DataException.class, l::next);
            assertTrue(e.getMessage().contains("i1.png") && e.getMessage().contains("cannot read"), e.getMessage());
        }
        try (Loader l = new Loader(ds, new Loader.Options(2, 2, 1, false, true), 0L)) {
            assertEquals(List.of(dir.resolve("i0.png").toString(), dir.resolve("i2.png").toString()), l.next().sources());
            assertEquals(1, l.skippedFiles());
        }
    }
}
