package io.github.sgm4j.testutil;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.sgm4j.io.SafeTensors;
import io.github.sgm4j.modules.autoencoding.lpips.LPIPS;
import io.github.sgm4j.noise.TorchNoiseSource;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Random LPIPS weights in the two files a user would have (torchvision VGG16 keys and LPIPS head keys). */
public final class LpipsTestWeights {

    private LpipsTestWeights() {}

    /**
     * Writes {@code vgg16.safetensors} and {@code vgg_lpips.safetensors} into {@code dir}.
     *
     * @param dir an existing directory
     * @return {@code dir}
     */
    public static Path write(Path dir) {
        try (NDManager m = NDManager.newBaseManager()) {
            LPIPS l = new LPIPS();
            l.initialize(m, new TorchNoiseSource(7));
            Map<String, NDArray> vgg = new LinkedHashMap<>();
            Map<String, NDArray> lin = new LinkedHashMap<>();
            l.stateDict().forEach((k, v) -> {
                if (k.startsWith("net.slice")) {
                    vgg.put("features." + k.substring(k.indexOf('.', 4) + 1), v);
                } else if (k.startsWith("lin")) {
                    lin.put(k, v);
                }
            });
            SafeTensors.write(dir.resolve("vgg16.safetensors"), vgg, Map.of());
            SafeTensors.write(dir.resolve("vgg_lpips.safetensors"), lin, Map.of());
        }
        return dir;
    }
}
