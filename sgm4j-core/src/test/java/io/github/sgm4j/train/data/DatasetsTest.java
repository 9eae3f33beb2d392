package io.github.sgm4j.train.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.sgm4j.config.ConfigException;
import io.github.sgm4j.config.ConfigNode;
import java.io.DataOutputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetsTest {

    @TempDir
    Path dir;

    /** Writes n tiny IDX images (pixel p of image i = (i * 31 + p) % 256) and labels i % 10. */
    private Path writeIdx(int n) throws Exception {
        Path root = dir.resolve("mnist");
        Files.createDirectories(root);
        try (OutputStream o = Files.newOutputStream(root.resolve("train-images-idx3-ubyte"));
                DataOutputStream d = new DataOutputStream(o)) {
            d.writeInt(2051);
            d.writeInt(n);
            d.writeInt(28);
            d.writeInt(28);
            for (int i = 0; i < n; i++) {
                for (int p = 0; p < 784; p++) {
                    d.writeByte((i * 31 + p) % 256);
                }
            }
        }
        try (OutputStream o = Files.newOutputStream(root.resolve("train-labels-idx1-ubyte"));
                DataOutputStream d = new DataOutputStream(o)) {
            d.writeInt(2049);
            d.writeInt(n);
            for (int i = 0; i < n; i++) {
                d.writeByte(i % 10);
            }
        }
        return root;
    }

    private static ConfigNode data(String yaml) {
        return ConfigNode.parse(yaml, "test.yaml").getNode("data");
    }

    @Test
    void sgmMnistLoaderGivesTheBatchesOfTheIdxReader() throws Exception {
        Path root = writeIdx(20);
        Datasets.Spec spec = Datasets.fromConfig(data("""
                data:
                  target: sgm.data.mnist.MNISTLoader
                  params:
                    batch_size: 6
                    num_workers: 2
                """), root);
        assertEquals(new Loader.Options(6, 2, 2, true, false), spec.options());
        MnistDataset idx = MnistDataset.load(root, true);
        try (Loader l = spec.loader(5L); NDManager m = NDManager.newBaseManager()) {
            for (int step = 0; step < 7; step++) {
                Map<String, NDArray> want = idx.batch(m, step, 6, 5L);
                Map<String, NDArray> got = l.next().toArrays(m);
                assertEquals(want.keySet(), got.keySet());
                assertArrayEquals(want.get("jpg").toFloatArray(), got.get("jpg").toFloatArray(), 0f, "step " + step);
                assertArrayEquals(want.get("cls").toLongArray(), got.get("cls").toLongArray(), "step " + step);
            }
        }
    }

    @Test
    void mnistPadsAndResizes() throws Exception {
        Path root = writeIdx(4);
        Datasets.Spec pad = Datasets.fromConfig(data("""
                data:
                  target: sgm4j.data.Mnist
                  params: {batch_size: 2, size: 32, shuffle: false, root: %s}
                """.formatted(root)), null);
        MnistDataset idx = MnistDataset.load(root, true);
        try (Loader l = pad.loader(0)) {
            Batch b = l.next();
            assertEquals(new ai.djl.ndarray.types.Shape(2, 1, 32, 32), b.shape("jpg"));
            float[] x = b.floats("jpg");
            int[] px = idx.image(1);
            for (int y = 0; y < 32; y++) {
                for (int xx = 0; xx < 32; xx++) {
                    boolean inside = y >= 2 && y < 30 && xx >= 2 && xx < 30;
                    float want = inside ? px[(y - 2) * 28 + xx - 2] / 255f * 2f - 1f : -1f;
                    assertEquals(want, x[1024 + y * 32 + xx], 0f);
                }
            }
        }
        Datasets.Spec resize = Datasets.fromConfig(data("""
                data:
                  target: sgm4j.data.Mnist
                  params: {batch_size: 1, size: 16, resize: bicubic, shuffle: false}
                """), root);
        try (Loader l = resize.loader(0)) {
            float[] x = l.next().floats("jpg");
            float[] u = new float[784];
            int[] px = idx.image(0);
            for (int p = 0; p < 784; p++) {
                u[p] = px[p] / 255f;
            }
            float[] r = Resampler.clamp01(Resampler.resize(u, 1, 28, 28, 16, 16));
            for (int p = 0; p < 256; p++) {
                assertEquals(r[p] * 2f - 1f, x[p], 0f);
            }
        }
        ConfigException small = assertThrows(ConfigException.class, () -> Datasets.fromConfig(data("""
                data:
                  target: sgm4j.data.Mnist
                  params: {batch_size: 1, size: 20}
                """), root));
        assertEquals("data.params.size", small.getPath());
    }

    @Test
    void imageFolderAndTarShardsFromConfig() throws Exception {
        for (int n = 0; n < 3; n++) {
            TestImages.write(dir.resolve("imgs/c" + n + "/i.png"), TestImages.pattern(6, 5, n), "png");
        }
        Datasets.Spec f = Datasets.fromConfig(data("""
                data:
                  target: sgm4j.data.ImageFolder
                  params:
                    root: %s
                    size: 4
                    crop: random
                    flip: true
                    small_images: reject
                    extensions: [.PNG]
                    class_folders: true
                    batch_size: 3
                    num_workers: 1
                    prefetch: 4
                    skip_bad_files: true
                """.formatted(dir.resolve("imgs"))), null);
        assertInstanceOf(ImageFolder.class, f.dataset());
        assertEquals(new Loader.Options(3, 1, 4, true, true), f.options());
        try (Loader l = f.loader(1)) {
            Batch b = l.next();
            assertEquals(new ai.djl.ndarray.types.Shape(3, 3, 4, 4), b.shape("jpg"));
            assertEquals(3, b.longs("cls").length);
        }
        TestImages.tar(dir.resolve("tars/000000.tar"), Map.of("k.png", TestImages.encode(TestImages.pattern(4, 4, 0), "png")));
        Datasets.Spec t = Datasets.fromConfig(data("""
                data:
                  target: sgm4j.data.TarShards
                  params:
                    shards: ["%s"]
                    size: 4
                    shuffle_buffer: 10
                    batch_size: 1
                """.formatted(dir.resolve("tars/{000000..000000}.tar"))), null);
        assertInstanceOf(TarShards.class, t.dataset());
        assertEquals(Loader.Options.defaultWorkers(), t.options().numWorkers());
        try (Loader l = t.loader(1)) {
            assertEquals(List.of(dir.resolve("tars/000000.tar") + ":k"), l.next().sources());
        }
    }

    @Test
    void configErrorsNameTheirPath() throws Exception {
        ConfigException unknown = assertThrows(ConfigException.class, () -> Datasets.fromConfig(data("""
                data:
                  target: sgm.data.cifar10.CIFAR10Loader
                  params: {batch_size: 2}
                """), null));
        assertEquals("data.target", unknown.getPath());
        assertTrue(unknown.getMessage().contains("sgm4j.data.ImageFolder"), unknown.getMessage());
        String folder = dir.toString();
        List<String[]> cases = List.of(
                new String[] {"{root: " + folder + ", size: 4, batch_size: 2, crop: middle}", "data.params.crop"},
                new String[] {"{root: " + folder + ", size: 0, batch_size: 2}", "data.params.size"},
                new String[] {"{root: " + folder + ", size: 4}", "data.params.batch_size"},
                new String[] {"{root: " + folder + ", size: 4, batch_size: 2, small_images: crop}", "data.params.small_images"},
                new String[] {"{root: " + folder + ", size: 4, batch_size: 2, extensions: [webp]}", "data.params.extensions"},
                new String[] {"{root: " + folder + ", size: 4, batch_size: 2, num_workers: -1}", "data.params.num_workers"},
                new String[] {"{root: " + folder + ", size: 4, batch_size: 2, flipp: true}", "data.params"});
        TestImages.write(dir.resolve("a.png"), TestImages.pattern(4, 4, 0), "png");
        for (String[] c : cases) {
            ConfigException e = assertThrows(ConfigException.class, () -> Datasets.fromConfig(data(
                    "data:\n  target: sgm4j.data.ImageFolder\n  params: " + c[0] + "\n"), null), c[0]);
            assertEquals(c[1], e.getPath(), e.getMessage());
        }
        ConfigException noRoot = assertThrows(ConfigException.class, () -> Datasets.fromConfig(data("""
                data:
                  target: sgm.data.mnist.MNISTLoader
                  params: {batch_size: 2}
                """), null));
        assertTrue(noRoot.getMessage().contains("--data"), noRoot.getMessage());
        ConfigException extra = assertThrows(ConfigException.class, () -> Datasets.fromConfig(data("""
                data:
                  target: sgm.data.mnist.MNISTLoader
                  params: {batch_size: 2, root: x}
                """), dir));
        assertTrue(extra.getMessage().contains("data.params.root"), extra.getMessage());
        DataException missing = assertThrows(DataException.class, () -> Datasets.fromConfig(data("""
                data:
                  target: sgm4j.data.ImageFolder
                  params: {root: %s, size: 4, batch_size: 2}
                """.formatted(dir.resolve("absent"))), null));
        assertTrue(missing.getMessage().contains("absent"), missing.getMessage());
    }

    @Test
    void throughputHelperRuns() {
        DataThroughput.writeJpegs(dir.resolve("jpegs"), 8, 32, 1L);
        DataThroughput.Result r = DataThroughput.measure(dir.resolve("jpegs"), 16, 4, 2, 3);
        assertEquals(12, r.images());
        assertTrue(r.toString().startsWith("data-throughput: "), r.toString());
    }
}
