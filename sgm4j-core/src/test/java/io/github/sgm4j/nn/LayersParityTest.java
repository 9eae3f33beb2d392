package io.github.sgm4j.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.io.SafeTensorsFile;
import io.github.sgm4j.noise.ReplayNoiseSource;
import io.github.sgm4j.testutil.Assert;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Each layer against values computed by PyTorch 1.13 ({@code src/test/resources/nn/make_layers.py}
 * wrote {@code layers.safetensors}).
 */
class LayersParityTest {

    /** fp32 layer outputs: torch and libtorch kernels may differ in summation order. */
    static final double RTOL = 1e-5;

    static final double ATOL = 1e-5;

    static NDManager manager;
    static Map<String, NDArray> ref;

    @BeforeAll
    static void load() {
        manager = NDManager.newBaseManager();
        try (SafeTensorsFile f = SafeTensors.open(Path.of("src/test/resources/nn/layers.safetensors"))) {
            ref = f.loadAll(manager);
        }
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    static <M extends Module> M loaded(M module, String prefix) {
        Map<String, NDArray> sd = new LinkedHashMap<>();
        for (String k : module.stateDictKeys()) {
            sd.put(k, ref.get(prefix + "." + k));
        }
        module.attach(manager);
        module.loadStateDict(sd, true);
        return module;
    }

    @Test
    void conv2dVariants() {
        Object[][] cases = {
            {"conv3x3", new Conv2d(4, 6, 3, 1, 1)},
            {"conv_stride2", new Conv2d(4, 8, 3, 2, 0)},
            {"conv_groups", new Conv2d(4, 8, 3, 1, 1, 2, false)},
            {"conv1x1", new Conv2d(6, 3, 1, 1, 0)},
        };
        for (Object[] c : cases) {
            String name = (String) c[0];
            Conv2d conv = loaded((Conv2d) c[1], name);
            Assert.allClose(name, ref.get(name + ".y"), conv.forward(ref.get(name + ".x")), RTOL, ATOL);
        }
    }

    @Test
    void linear() {
        Linear lin = loaded(new Linear(5, 7), "linear");
        Assert.allClose("linear", ref.get("linear.y"), lin.forward(ref.get("linear.x")), RTOL, ATOL);
        Linear nb = loaded(new Linear(5, 7, false), "linear_nobias");
        Assert.allClose("linear_nobias", ref.get("linear_nobias.y"), nb.forward(ref.get("linear_nobias.x")), RTOL, ATOL);
    }

    @Test
    void norms() {
        GroupNorm gn = loaded(new GroupNorm(4, 16, 1e-6), "groupnorm");
        Assert.allClose("groupnorm", ref.get("groupnorm.y"), gn.forward(ref.get("groupnorm.x")), RTOL, ATOL);
        GroupNorm32 gn32 = loaded(new GroupNorm32(4, 16), "groupnorm32");
        Assert.allClose("groupnorm32", ref.get("groupnorm32.y"), gn32.forward(ref.get("groupnorm32.x")), RTOL, ATOL);
        LayerNorm ln = loaded(new LayerNorm(8), "layernorm");
        Assert.allClose("layernorm", ref.get("layernorm.y"), ln.forward(ref.get("layernorm.x")), RTOL, ATOL);
    }

    @Test
    void embedding() {
        Embedding emb = loaded(new Embedding(10, 6), "embedding");
        Assert.allClose("embedding", ref.get("embedding.y"), emb.forward(ref.get("embedding.idx")), 0, 0);
        NDArray bad = manager.create(new long[] {0, 10});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> emb.forward(bad));
        assertTrue(e.getMessage().contains("10 rows"), e.getMessage());
    }

    @Test
    void activations() {
        NDArray x = ref.get("act.x");
        Assert.allClose("silu", ref.get("act.silu"), new SiLU().forward(x), RTOL, 1e-6);
        Assert.allClose("gelu", ref.get("act.gelu"), new GELU().forward(x), RTOL, 1e-6);
        Assert.allClose("identity", x, new Identity().forward(x), 0, 0);
    }

    @Test
    void attentionPlainAndChunked() {
        NDArray q = ref.get("attn.q");
        NDArray k = ref.get("attn.k");
        NDArray v = ref.get("attn.v");
        double scale = Math.pow(8, -0.5);
        NDArray plain = F.attention(q, k, v, scale, 0);
        Assert.allClose("attention", ref.get("attn.y"), plain, RTOL, 1e-6);
        // 2*3 heads x 12 keys: a threshold of 100 elements forces chunks of 1 query row
        NDArray chunked = F.attention(q, k, v, scale, 100);
        Assert.allClose("attention chunked vs plain", plain, chunked, 0, 1e-6);
    }

    @Test
    void resampling() {
        NDArray x = ref.get("resample.x");
        Assert.allClose("upsample", ref.get("resample.up"), F.upsampleNearest2x(x), 0, 0);
        Assert.allClose("pad", ref.get("resample.pad"), F.pad(x, new long[] {0, 1, 0, 1}, 0), 0, 0);
        Assert.allClose("pad2", ref.get("resample.pad2"), F.pad(x, new long[] {1, 2, 3, 0}, -1.5), 0, 0);
        NDArray crop = x.get(":, :, :4, :4");
        Assert.allClose("avgpool", ref.get("resample.avgpool"), F.avgPool2d(crop, 2, 2), RTOL, 1e-6);
    }

    @Test
    void sequentialKeepsPythonIndices() {
        Sequential seq = new Sequential(new GroupNorm32(4, 8), new SiLU(), new Conv2d(8, 8, 3, 1, 1));
        assertEquals(List.of("0.weight", "0.bias", "2.weight", "2.bias"), List.copyOf(seq.stateDictKeys()));
    }

    @Test
    void dropoutDrawsThroughNoiseSource() {
        NDArray x = manager.ones(new Shape(2, 3));
        NDArray mask = manager.create(new float[] {1, 0, 1, 1, 1, 0}, new Shape(2, 3));
        Dropout d = new Dropout(0.5);
        d.setNoiseSource(new ReplayNoiseSource("test", List.of(new ReplayNoiseSource.Draw("bernoulli", mask))));
        NDArray y = d.forward(x);
        Assert.allClose("dropout", mask.mul(2), y, 0, 0);
        d.eval();
        Assert.allClose("dropout eval", x, d.forward(x), 0, 0);
        Dropout noSource = new Dropout(0.1);
        assertThrows(IllegalStateException.class, () -> noSource.forward(x));
    }
}
