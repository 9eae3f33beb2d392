package io.github.sgm4j.train.data;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Says once per dataset and kind ("grayscale", "RGBA", ...) that images were converted to RGB. */
final class RgbNotice {

    private static final Logger LOG = LoggerFactory.getLogger(RgbNotice.class);

    private final String dataset;
    private final Set<String> said = ConcurrentHashMap.newKeySet();

    RgbNotice(String dataset) {
        this.dataset = dataset;
    }

    /** Decodes {@code bytes}, logs a first conversion of its kind, and applies {@code transform}. */
    Sample decode(String name, byte[] bytes, ImageTransform transform, SeededRandom rng) {
        ImageDecoder.Decoded d = ImageDecoder.decode(bytes, name);
        if (d.converted() != null && said.add(d.converted())) {
            LOG.info("{}: {} images are converted to RGB (first: {}); said once", dataset, d.converted(), name);
        }
        Sample s = new Sample(name);
        transform.apply(d, rng, s);
        return s;
    }

    /** The kinds converted so far. */
    Set<String> kinds() {
        return Set.copyOf(said);
    }
}
