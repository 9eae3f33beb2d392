package io.github.sgm4j.modules.autoencoding.lpips;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import io.github.sgm4j.nn.Conv2d;
import io.github.sgm4j.nn.MaxPool2d;
import io.github.sgm4j.nn.Module;
import io.github.sgm4j.nn.NamedSequential;
import io.github.sgm4j.nn.ReLU;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * LPIPS's {@code vgg16} wrapper: torchvision's VGG16 {@code features} (13 3x3 convolutions with
 * ReLU, 4 max-pools) split into {@code slice1} (indices 0-3), {@code slice2} (4-8), {@code slice3}
 * (9-15), {@code slice4} (16-22) and {@code slice5} (23-29), keeping torchvision's indices, so
 * keys are {@code slice1.0.weight}, {@code slice2.5.weight}, ... The forward returns the five
 * activations relu1_2, relu2_2, relu3_3, relu4_3 and relu5_3.
 */
public class Vgg16Features extends Module {

    private static final int[] CFG = {64, 64, -1, 128, 128, -1, 256, 256, 256, -1, 512, 512, 512, -1, 512, 512, 512};
    private static final int[] SLICE_START = {0, 4, 9, 16, 23, 30};
    private static final Pattern TORCHVISION_KEY = Pattern.compile("(?:.*\\.)?features\\.(\\d+)\\.(weight|bias)");

    private final NamedSequential[] slices = new NamedSequential[5];

    /** The five slices with default-initialised convolutions (load pretrained weights by key). */
    public Vgg16Features() {
        for (int i = 0; i < 5; i++) {
            slices[i] = register("slice" + (i + 1), new NamedSequential());
        }
        int index = 0;
        int in = 3;
        for (int v : CFG) {
            if (v < 0) {
                slice(index).add(Integer.toString(index), new MaxPool2d(2, 2));
                index++;
            } else {
                slice(index).add(Integer.toString(index), new Conv2d(in, v, 3, 1, 1));
                slice(index + 1).add(Integer.toString(index + 1), new ReLU());
                index += 2;
                in = v;
            }
        }
    }

    private NamedSequential slice(int featureIndex) {
        for (int s = 0; s < 5; s++) {
            if (featureIndex < SLICE_START[s + 1]) {
                return slices[s];
            }
        }
        throw new IllegalStateException("VGG16 features index " + featureIndex + " beyond relu5_3");
    }

    /**
     * The key of this module for a torchvision VGG16 key ({@code features.17.weight} or {@code
     * vgg.features.17.weight} -> {@code slice4.17.weight}).
     *
     * @param torchvisionKey a key of {@code torchvision.models.vgg16().state_dict()}
     * @return the key here, or null for keys outside {@code features.0..29} (the classifier)
     */
    public static String keyFromTorchvision(String torchvisionKey) {
        Matcher m = TORCHVISION_KEY.matcher(torchvisionKey);
        if (!m.matches()) {
            return null;
        }
        int idx = Integer.parseInt(m.group(1));
        for (int s = 0; s < 5; s++) {
            if (idx < SLICE_START[s + 1]) {
                return "slice" + (s + 1) + "." + idx + "." + m.group(2);
            }
        }
        return null;
    }

    /**
     * Renames a torchvision VGG16 state dict to this module's keys (classifier keys dropped).
     *
     * @param torchvision tensors by torchvision key
     * @return tensors by {@code sliceK.i.*} key (same arrays)
     */
    public static Map<String, NDArray> fromTorchvision(Map<String, NDArray> torchvision) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        torchvision.forEach((k, v) -> {
            String mapped = keyFromTorchvision(k);
            if (mapped != null) {
                out.put(mapped, v);
            }
        });
        return out;
    }

    /**
     * The forward pass.
     *
     * @param x scaled images [B, 3, H, W] (H, W at least 16)
     * @return relu1_2, relu2_2, relu3_3, relu4_3, relu5_3
     * @throws IllegalArgumentException if {@code x} is not [B, 3, H, W] or smaller than 16x16
     */
    public NDList forward(NDArray x) {
        if (x.getShape().dimension() != 4 || x.getShape().get(1) != 3) {
            throw new IllegalArgumentException("VGG16 features expect [B, 3, H, W], got " + x.getShape());
        }
        if (x.getShape().get(2) < 16 || x.getShape().get(3) < 16) {
            throw new IllegalArgumentException(
                    "VGG16 features need images of at least 16x16 (four 2x2 max-pools), got " + x.getShape());
        }
        NDList out = new NDList();
        NDArray h = x;
        for (NamedSequential s : slices) {
            h = s.forward(h);
            out.add(h);
        }
        return out;
    }
}
