package io.github.sgm4j.train.data;

import io.github.sgm4j.config.ConfigException;
import io.github.sgm4j.config.ConfigNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Builds a {@link Dataset} and its {@link Loader.Options} from a config's {@code data:} section
 * ({@code target} and {@code params}, as sgm's {@code data} block). Targets:
 *
 * <ul>
 *   <li>{@value #IMAGE_FOLDER}: {@link ImageFolder}; params {@code root}, {@code size}, {@code crop}
 *       ({@code center} | {@code random}, default center), {@code flip} (false), {@code
 *       small_images} ({@code upscale} | {@code reject}, default upscale), {@code extensions}
 *       ({@code [jpg, jpeg, png]}), {@code class_folders} (false), {@code captions} (false);
 *   <li>{@value #TAR_SHARDS}: {@link TarShards}; params {@code shards} (a pattern or a list of
 *       patterns), {@code size}, {@code crop}, {@code flip}, {@code small_images}, {@code
 *       extensions}, {@code captions} (false), {@code labels} (false), {@code shuffle_buffer} (0);
 *   <li>{@value #MNIST}: {@link MnistData}; params {@code root} (default: the caller's MNIST
 *       directory), {@code train} (true), {@code size} (28), {@code resize} ({@code pad} | {@code
 *       bicubic}, default pad);
 *   <li>{@value #SGM_MNIST}: sgm's own MNIST target, read from the caller's MNIST directory; its
 *       params {@code batch_size}, {@code num_workers} (0), {@code prefetch_factor} (2), {@code
 *       shuffle} (true);
 *   <li>{@value #CACHED_LATENTS}: {@link CachedLatents}; params {@code root} (the directory {@code
 *       sgm4j encode-dataset} wrote).
 * </ul>
 *
 * Every sgm4j target also takes the loader params {@code batch_size} (required), {@code
 * num_workers} (images: {@link Loader.Options#defaultWorkers()}; MNIST: 0), {@code prefetch}
 * (batches decoded ahead, 2), {@code shuffle} (true) and {@code skip_bad_files} (false). Relative
 * paths are resolved against the working directory. An unknown target or parameter is a {@link
 * ConfigException} naming its YAML path.
 */
public final class Datasets {

    /** sgm4j's image folder target. */
    public static final String IMAGE_FOLDER = "sgm4j.data.ImageFolder";
    /** sgm4j's tar shard target. */
    public static final String TAR_SHARDS = "sgm4j.data.TarShards";
    /** sgm4j's MNIST target. */
    public static final String MNIST = "sgm4j.data.Mnist";
    /** sgm's MNIST data module, loaded through the IDX reader. */
    public static final String SGM_MNIST = "sgm.data.mnist.MNISTLoader";
    /** sgm4j's cached first-stage latents ({@code sgm4j encode-dataset}). */
    public static final String CACHED_LATENTS = "sgm4j.data.CachedLatents";
    /** Every known target. */
    public static final List<String> TARGETS = List.of(IMAGE_FOLDER, TAR_SHARDS, MNIST, SGM_MNIST, CACHED_LATENTS);

    private Datasets() {}

    /**
     * A dataset and how to load it.
     *
     * @param dataset the dataset
     * @param options the loader options from the same params
     */
    public record Spec(Dataset dataset, Loader.Options options) {
        /**
         * A loader over the dataset.
         *
         * @param seed the run seed
         * @return a new loader at position {@code (0, 0)}
         */
        public Loader loader(long seed) {
            return new Loader(dataset, options, seed);
        }
    }

    /**
     * Builds the dataset of a {@code data:} section.
     *
     * @param data the {@code data} node ({@code target}, {@code params})
     * @param mnistRoot the MNIST directory for {@value #SGM_MNIST} (and the default {@code root} of
     *     {@value #MNIST}), e.g. the CLI's {@code --data}; may be null when no MNIST target is used
     * @return the dataset and its loader options
     * @throws ConfigException for an unknown target, a missing or unknown parameter or a bad value
     *     (naming its YAML path)
     * @throws DataException when the data cannot be listed or read (naming the file)
     */
    public static Spec fromConfig(ConfigNode data, Path mnistRoot) {
        String target = data.getString("target");
        ConfigNode p = data.getNodeOrEmpty("params");
        data.checkAllKeysRead(Set.of("target", "params"));
        Spec spec = switch (target) {
            case IMAGE_FOLDER -> {
                ImageFolder.Params fp = new ImageFolder.Params(path(p, "root"), transform(p), extensions(p),
                        p.getBoolean("class_folders", false), p.getBoolean("captions", false));
                yield new Spec(new ImageFolder(fp), loaderOptions(p, Loader.Options.defaultWorkers()));
            }
            case TAR_SHARDS -> {
                List<Path> shards = new ArrayList<>();
                Object raw = p.raw("shards");
                if (raw instanceof String s) {
                    shards.addAll(ShardPatterns.list(s));
                } else if (raw instanceof List<?>) {
                    for (String s : p.getStringList("shards")) {
                        shards.addAll(ShardPatterns.list(s));
                    }
                } else {
                    throw new ConfigException(p.pathOf("shards"), "expected a shard pattern or a list of patterns"
                            + " (e.g. data/shards/{000000..000009}.tar), got " + raw);
                }
                int buffer = p.getInt("shuffle_buffer", 0);
                if (buffer < 0) {
                    throw new ConfigException(p.pathOf("shuffle_buffer"), "must be at least 0, got " + buffer);
                }
                TarShards.Params tp = new TarShards.Params(shards, transform(p), extensions(p),
                        p.getBoolean("captions", false), p.getBoolean("labels", false), buffer);
                yield new Spec(new TarShards(tp), loaderOptions(p, Loader.Options.defaultWorkers()));
            }
            case MNIST -> {
                Path root = p.isNull("root") ? requireRoot(mnistRoot, p) : path(p, "root");
                int size = p.getInt("size", MnistDataset.SIDE);
                String resize = choice(p, "resize", "pad", "pad", "bicubic");
                if (size < 1 || ("pad".equals(resize) && size < MnistDataset.SIDE)) {
                    throw new ConfigException(p.pathOf("size"), size + " cannot be " + ("pad".equals(resize)
                            ? "padded to (below 28; use resize: bicubic)" : "used (must be at least 1)"));
                }
                MnistData.Params mp = new MnistData.Params(root, p.getBoolean("train", true), size, "pad".equals(resize));
                yield new Spec(new MnistData(mp), loaderOptions(p, 0));
            }
            case SGM_MNIST -> {
                Path root = requireRoot(mnistRoot, p);
                int bs = positive(p, "batch_size", p.getInt("batch_size"));
                int workers = p.getInt("num_workers", 0);
                if (workers < 0) {
                    throw new ConfigException(p.pathOf("num_workers"), "must be at least 0, got " + workers);
                }
                int prefetch = positive(p, "prefetch_factor", p.getInt("prefetch_factor", 2));
                boolean shuffle = p.getBoolean("shuffle", true);
                p.checkAllKeysRead(Set.of("batch_size", "num_workers", "prefetch_factor", "shuffle"));
                yield new Spec(new MnistData(new MnistData.Params(root, true, MnistDataset.SIDE, true)),
                        new Loader.Options(bs, workers, prefetch, shuffle, false));
            }
            case CACHED_LATENTS -> new Spec(new CachedLatents(path(p, "root")), loaderOptions(p, 0));
            default -> throw new ConfigException(data.pathOf("target"), "unknown data target '" + target
                    + "'; known targets: " + String.join(", ", TARGETS));
        };
        p.checkAllKeysRead(Set.of("batch_size", "num_workers", "prefetch", "shuffle", "skip_bad_files"));
        return spec;
    }

    private static Path requireRoot(Path mnistRoot, ConfigNode p) {
        if (mnistRoot == null) {
            throw new ConfigException(p.pathOf("root"), "no MNIST directory: give data.params.root or the data"
                    + " directory (--data)");
        }
        return mnistRoot;
    }

    private static Loader.Options loaderOptions(ConfigNode p, int defaultWorkers) {
        int bs = positive(p, "batch_size", p.getInt("batch_size"));
        int workers = p.getInt("num_workers", defaultWorkers);
        if (workers < 0) {
            throw new ConfigException(p.pathOf("num_workers"), "must be at least 0, got " + workers);
        }
        int prefetch = positive(p, "prefetch", p.getInt("prefetch", 2));
        return new Loader.Options(bs, workers, prefetch, p.getBoolean("shuffle", true),
                p.getBoolean("skip_bad_files", false));
    }

    private static int positive(ConfigNode p, String key, int v) {
        if (v < 1) {
            throw new ConfigException(p.pathOf(key), "must be at least 1, got " + v);
        }
        return v;
    }

    private static Path path(ConfigNode p, String key) {
        String s = p.getString(key);
        if (s.isBlank()) {
            throw new ConfigException(p.pathOf(key), "must be a path, got an empty string");
        }
        return Path.of(s);
    }

    private static ImageTransform transform(ConfigNode p) {
        int size = positive(p, "size", p.getInt("size"));
        boolean random = "random".equals(choice(p, "crop", "center", "center", "random"));
        boolean reject = "reject".equals(choice(p, "small_images", "upscale", "upscale", "reject"));
        return new ImageTransform(size, random, p.getBoolean("flip", false), reject);
    }

    private static List<String> extensions(ConfigNode p) {
        List<String> ext = p.getStringList("extensions", ImageFolder.DEFAULT_EXTENSIONS);
        if (ext.isEmpty()) {
            throw new ConfigException(p.pathOf("extensions"), "must name at least one extension");
        }
        List<String> out = new ArrayList<>();
        for (String e : ext) {
            String x = e.startsWith(".") ? e.substring(1) : e;
            x = x.toLowerCase(Locale.ROOT);
            if (!x.equals("jpg") && !x.equals("jpeg") && !x.equals("png")) {
                throw new ConfigException(p.pathOf("extensions"), "'" + e + "' is not a supported image format"
                        + " (jpg, jpeg, png: javax.imageio's readers)");
            }
            out.add(x);
        }
        return List.copyOf(out);
    }

    private static String choice(ConfigNode p, String key, String def, String... allowed) {
        String v = p.getString(key, def);
        for (String a : allowed) {
            if (a.equals(v)) {
                return v;
            }
        }
        throw new ConfigException(p.pathOf(key), "expected one of " + String.join(", ", allowed) + ", got '" + v + "'");
    }
}
