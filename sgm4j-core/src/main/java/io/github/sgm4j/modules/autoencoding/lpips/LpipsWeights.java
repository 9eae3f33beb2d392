package io.github.sgm4j.modules.autoencoding.lpips;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import io.github.sgm4j.io.StateDicts;
import io.github.sgm4j.nn.LoadResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds and loads the pretrained weights of {@link LPIPS} from files the user already has; nothing is
 * downloaded. The reference builds them from torchvision's ImageNet VGG16 ({@code
 * vgg16-397923af.pth}) and LPIPS's linear heads ({@code vgg.pth}, taming's {@code vgg_lpips}).
 *
 * <p>Directory, first found: an explicit path (the loss config's {@code lpips_dir}, an sgm4j
 * extension), the environment variable {@value #ENV}, then {@code ~/.cache/sgm4j/lpips}. In it, per
 * part, the first of:
 *
 * <ul>
 *   <li>VGG16: {@code vgg16.safetensors}, {@code vgg16-397923af.safetensors} or {@code vgg16-397923af.pth} (torchvision keys {@code
 *       features.N.weight/bias}; the classifier is ignored);
 *   <li>heads: {@code vgg_lpips.safetensors}, {@code vgg.safetensors} or {@code vgg.pth} (keys {@code linK.model.1.weight}).
 * </ul>
 *
 * <p>{@code .pth} files are read by the safe checkpoint reader ({@link StateDicts}, never executing
 * code), in PyTorch's zip format or in its legacy non-zip format (the format of the published {@code
 * vgg16-397923af.pth} and {@code vgg.pth}), so the files downloaded by torchvision and the {@code
 * lpips} package can be used as they are.
 */
public final class LpipsWeights {

    /** The environment variable naming the LPIPS weight directory. */
    public static final String ENV = "SGM4J_LPIPS_DIR";

    /** File names of the VGG16 part, in order of preference. */
    public static final List<String> VGG_FILES = List.of("vgg16.safetensors", "vgg16-397923af.safetensors", "vgg16-397923af.pth");

    /** File names of the linear heads, in order of preference. */
    public static final List<String> LIN_FILES = List.of("vgg_lpips.safetensors", "vgg.safetensors", "vgg.pth");

    private LpipsWeights() {}

    /** Pretrained LPIPS weights are needed but a file is missing or unusable. */
    public static final class MissingWeightsException extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        /**
         * Creates the exception.
         *
         * @param message what is missing and where to put it
         */
        public MissingWeightsException(String message) {
            super(message);
        }
    }

    /**
     * The weight directory: {@code explicit} when given, else {@value #ENV}, else {@code
     * ~/.cache/sgm4j/lpips}.
     *
     * @param explicit the configured directory, or null
     * @return the directory to read (it may not exist)
     */
    public static Path directory(String explicit) {
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit);
        }
        String env = System.getenv(ENV);
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        return Path.of(System.getProperty("user.home"), ".cache", "sgm4j", "lpips");
    }

    /**
     * Loads both parts into {@code lpips} (allocated), strictly: every VGG16 feature weight and
     * every head weight must be present with its shape.
     *
     * @param lpips the metric, initialised
     * @param dir the directory holding the files
     * @throws MissingWeightsException naming the file(s) expected and where they go, when a part is
     *     missing, or has unexpected or missing keys
     */
    public static void load(LPIPS lpips, Path dir) {
        Path vgg = find(dir, VGG_FILES, "VGG16 (torchvision's ImageNet weights)");
        Path lin = find(dir, LIN_FILES, "LPIPS linear heads");
        NDManager m = lpips.getManager();
        try (NDScope ignored = new NDScope()) {
            Map<String, NDArray> sd = new LinkedHashMap<>();
            Map<String, NDArray> tv = read(vgg, m);
            Map<String, NDArray> mapped = Vgg16Features.fromTorchvision(tv);
            if (mapped.isEmpty()) {
                throw new MissingWeightsException(vgg + " holds no torchvision VGG16 'features.N.weight' keys (found "
                        + firstKeys(tv) + ")");
            }
            mapped.forEach((k, v) -> sd.put("net." + k, v));
            Map<String, NDArray> heads = read(lin, m);
            for (Map.Entry<String, NDArray> e : heads.entrySet()) {
                if (!e.getKey().matches("lin[0-4]\\.model\\.1\\.weight")) {
                    throw new MissingWeightsException(lin + ": unexpected key '" + e.getKey()
                            + "' (LPIPS heads are lin0..4.model.1.weight)");
                }
                sd.put(e.getKey(), e.getValue());
            }
            for (Map.Entry<String, io.github.sgm4j.nn.Parameter> e : lpips.stateDictEntries().entrySet()) {
                if (e.getKey().startsWith("scaling_layer.")) {
                    sd.put(e.getKey(), e.getValue().getArray());
                }
            }
            LoadResult r = lpips.loadStateDict(sd, false);
            if (!r.isClean()) {
                throw new MissingWeightsException("LPIPS weights from " + vgg + " and " + lin + " do not fit: "
                        + r.describe());
            }
        }
    }

    private static String firstKeys(Map<String, NDArray> tv) {
        List<String> keys = new ArrayList<>(tv.keySet());
        return keys.subList(0, Math.min(5, keys.size())).toString();
    }

    private static Path find(Path dir, List<String> names, String what) {
        for (String n : names) {
            Path p = dir.resolve(n);
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        throw new MissingWeightsException("LPIPS is on (perceptual_weight > 0) but its " + what + " weights are missing: "
                + "put " + String.join(" or ", names) + " into " + dir.toAbsolutePath() + " (set the loss config's "
                + "lpips_dir or the environment variable " + ENV + " to use another directory), or set "
                + "perceptual_weight: 0 to train without LPIPS");
    }

    private static Map<String, NDArray> read(Path file, NDManager m) {
        return StateDicts.readAll(file, m);
    }
}
