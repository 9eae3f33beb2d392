package io.github.sgm4j.nn;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.io.SafeTensorsFile;
import io.github.sgm4j.testutil.Assert;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Gradients of {@link F#conv2d} (input, weight, bias) against torch 1.13
 * ({@code src/test/resources/nn/make_conv_grads.py} wrote {@code conv_grads.safetensors}), with
 * output-channel counts that libtorch 2.7.1's CPU convolution gets wrong without the padding
 * work-around in {@code F.conv2d}, and some it gets right. Each case runs three times (the wrong
 * gradients were nondeterministic with several threads).
 */
class ConvGradientTest {

    /** fp32 convolution and its gradients: summation order differs between the two libtorch builds. */
    static final double RTOL = 1e-4;

    static final double ATOL = 1e-5;

    @Test
    void gradientsMatchTorch() {
        try (NDManager manager = NDManager.newBaseManager();
                SafeTensorsFile f = SafeTensors.open(Path.of("src/test/resources/nn/conv_grads.safetensors"))) {
            Map<String, NDArray> ref = f.loadAll(manager);
            for (Map.Entry<String, String> c : f.metadata().entrySet()) {
                String name = c.getKey();
                JsonObject p = JsonParser.parseString(c.getValue()).getAsJsonObject();
                int stride = p.get("stride").getAsInt();
                int padding = p.get("padding").getAsInt();
                for (int run = 0; run < 3; run++) {
                    try (NDManager step = manager.newSubManager()) {
                        NDArray x = ref.get(name + ".x").duplicate();
                        NDArray w = ref.get(name + ".weight").duplicate();
                        NDArray b = ref.get(name + ".bias").duplicate();
                        x.attach(step);
                        w.attach(step);
                        b.attach(step);
                        x.setRequiresGradient(true);
                        w.setRequiresGradient(true);
                        b.setRequiresGradient(true);
                        NDArray y;
                        try (GradientCollector gc = Engine.getEngine("PyTorch").newGradientCollector()) {
                            y = F.conv2d(x, w, b, stride, padding, 1);
                            gc.backward(y.mul(ref.get(name + ".g")).sum());
                        }
                        String what = name + " (run " + run + ")";
                        Assert.allClose(what + " y", ref.get(name + ".y"), y, RTOL, ATOL);
                        Assert.allClose(what + " grad x", ref.get(name + ".gx"), x.getGradient(), RTOL, ATOL);
                        Assert.allClose(what + " grad weight", ref.get(name + ".gw"), w.getGradient(), RTOL, ATOL);
                        Assert.allClose(what + " grad bias", ref.get(name + ".gb"), b.getGradient(), RTOL, ATOL);
                    }
                }
            }
        }
    }
}
