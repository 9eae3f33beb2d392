package io.github.sgm4j.modules.encoders.text;

import io.github.sgm4j.config.ConfigException;
import io.github.sgm4j.config.ConfigNode;
import java.util.Set;

/**
 * The sgm4j-only {@code arch_override} param of the text embedders: the released configs name a
 * text tower ({@code version} / {@code arch}) whose sizes are fixed by that name, so tests and
 * experiments with tiny random-weight towers replace some of those sizes here, keeping the targets
 * and key layout unchanged:
 *
 * <pre>
 * params:
 *   version: openai/clip-vit-large-patch14
 *   arch_override: {width: 16, layers: 2, heads: 4, mlp_width: 32}
 * </pre>
 *
 * <p>Keys: {@code vocab_size}, {@code width}, {@code layers}, {@code heads}, {@code context_length}
 * and {@code mlp_width} (HF CLIP) or {@code embed_dim} (OpenCLIP's text projection); an absent key
 * keeps the named architecture's size. Any other key is an error naming it. The reference has no
 * such param: a config using it does not load in sgm or ldm.
 */
public final class ArchOverride {

    /** The config key. */
    public static final String KEY = "arch_override";

    private static final Set<String> CLIP_KEYS = Set.of("vocab_size", "width", "layers", "heads", "context_length",
            "mlp_width");
    private static final Set<String> OPEN_CLIP_KEYS = Set.of("vocab_size", "width", "layers", "heads",
            "context_length", "embed_dim");

    private ArchOverride() {}

    /**
     * The HF CLIP architecture with {@code p}'s {@code arch_override} applied.
     *
     * @param named the architecture the {@code version} names
     * @param p the embedder's {@code params} node
     * @return {@code named}, or a copy with the overridden sizes
     * @throws ConfigException naming the key at fault (unknown key, invalid sizes)
     */
    public static ClipTextModel.Arch clip(ClipTextModel.Arch named, ConfigNode p) {
        ConfigNode o = node(p, CLIP_KEYS);
        if (o == null) {
            return named;
        }
        try {
            return new ClipTextModel.Arch(o.getInt("vocab_size", named.vocabSize()), o.getInt("width", named.width()),
                    o.getInt("layers", named.layers()), o.getInt("heads", named.heads()),
                    o.getInt("context_length", named.contextLength()), o.getInt("mlp_width", named.mlpWidth()));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(o.path(), e.getMessage());
        }
    }

    /**
     * The OpenCLIP architecture with {@code p}'s {@code arch_override} applied.
     *
     * @param named the architecture the {@code arch} names
     * @param p the embedder's {@code params} node
     * @return {@code named}, or a copy with the overridden sizes
     * @throws ConfigException naming the key at fault (unknown key, invalid sizes)
     */
    public static OpenClipTextModel.Arch openClip(OpenClipTextModel.Arch named, ConfigNode p) {
        ConfigNode o = node(p, OPEN_CLIP_KEYS);
        if (o == null) {
            return named;
        }
        try {
            return new OpenClipTextModel.Arch(o.getInt("vocab_size", named.vocabSize()),
                    o.getInt("width", named.width()), o.getInt("layers", named.layers()), o.getInt("heads", named.heads()),
                    o.getInt("context_length", named.contextLength()), o.getInt("embed_dim", named.embedDim()));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(o.path(), e.getMessage());
        }
    }

    private static ConfigNode node(ConfigNode p, Set<String> known) {
        if (!p.has(KEY) || p.isNull(KEY)) {
            p.ignore(KEY);
            return null;
        }
        ConfigNode o = p.getNode(KEY);
        for (String k : o.keys()) {
            if (!known.contains(k)) {
                throw new ConfigException(o.pathOf(k), "unknown " + KEY + " key '" + k + "'; known: "
                        + new java.util.TreeSet<>(known));
            }
        }
        return o;
    }
}
