package io.github.sgm4j.train.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * A folder of PNG and JPEG images (target {@code sgm4j.data.ImageFolder}), searched recursively.
 * Each image gives {@code jpg} and the size keys of {@link ImageTransform}; with {@code
 * classFolders} also {@code cls}, the index of its first-level sub-folder among the sorted
 * sub-folder names; with {@code captions} also {@code txt}, the text of the {@code .txt} file beside
 * it ({@code a/b.jpg} → {@code a/b.txt}, UTF-8, surrounding whitespace stripped).
 *
 * <p>Files are ordered by their path relative to the root ({@code /}-separated, Java string order),
 * so the order, and with it every shuffled epoch, is the same on every file system. The folder is
 * listed once, at construction.
 */
public final class ImageFolder implements Dataset {

    /** The default image extensions. */
    public static final List<String> DEFAULT_EXTENSIONS = List.of("jpg", "jpeg", "png");

    private static final long ORDER_TAG = 0x0F01DE12L;

    /**
     * The folder's settings (the {@code data.params} of the target).
     *
     * @param root the folder
     * @param transform resize, crop, flip
     * @param extensions file extensions taken as images, lower case without dot (matched ignoring case)
     * @param classFolders label each image by its first-level sub-folder ({@code cls})
     * @param captions read the {@code .txt} caption beside each image ({@code txt}); a missing one is a
     *     bad file
     */
    public record Params(Path root, ImageTransform transform, List<String> extensions, boolean classFolders,
            boolean captions) {}

    private final Params params;
    private final List<Path> files;
    private final int[] labels;
    private final List<String> classNames;
    private final List<String> keys;
    private final RgbNotice notice;

    /**
     * Lists the folder.
     *
     * @param params the settings
     * @throws DataException when the root is not a directory, is empty, holds no file with the
     *     extensions, or (with class folders) holds images outside a sub-folder
     */
    public ImageFolder(Params params) {
        this.params = params;
        Path root = params.root();
        if (!Files.isDirectory(root)) {
            throw new DataException("image folder " + root.toAbsolutePath() + " does not exist or is not a directory");
        }
        List<Path> all;
        try (Stream<Path> s = Files.walk(root)) {
            all = s.filter(Files::isRegularFile).toList();
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new DataException("cannot list image folder " + root.toAbsolutePath() + ": " + e.getMessage(), e);
        }
        if (all.isEmpty()) {
            throw new DataException("image folder " + root.toAbsolutePath() + " is empty (no files in it or below it)");
        }
        Set<String> wanted = new TreeSet<>();
        for (String e : params.extensions()) {
            wanted.add(e.toLowerCase(Locale.ROOT));
        }
        TreeMap<String, Path> images = new TreeMap<>();
        Map<String, Integer> seenExt = new TreeMap<>();
        for (Path p : all) {
            String ext = extension(p);
            if (wanted.contains(ext)) {
                images.put(relative(root, p), p);
            } else {
                seenExt.merge(ext.isEmpty() ? "(none)" : "." + ext, 1, Integer::sum);
            }
        }
        if (images.isEmpty()) {
            throw new DataException("image folder " + root.toAbsolutePath() + " has " + all.size()
                    + " files but none with the extensions " + wanted + " (found " + seenExt + ")");
        }
        this.files = List.copyOf(images.values());
        if (params.classFolders()) {
            TreeSet<String> names = new TreeSet<>();
            for (String rel : images.keySet()) {
                int slash = rel.indexOf('/');
                if (slash < 0) {
                    throw new DataException(root.resolve(rel) + " is not in a class sub-folder of " + root
                            + " (class_folders: true labels images by their first-level sub-folder)");
                }
                names.add(rel.substring(0, slash));
            }
            this.classNames = List.copyOf(names);
            this.labels = new int[files.size()];
            int i = 0;
            for (String rel : images.keySet()) {
                labels[i++] = Collections.binarySearch(classNames, rel.substring(0, rel.indexOf('/')));
            }
        } else {
            this.classNames = List.of();
            this.labels = null;
        }
        List<String> k = new ArrayList<>(List.of("jpg", "original_size_as_tuple", "crop_coords_top_left",
                "target_size_as_tuple"));
        if (params.classFolders()) {
            k.add("cls");
        }
        if (params.captions()) {
            k.add("txt");
        }
        this.keys = List.copyOf(k);
        this.notice = new RgbNotice(description());
    }

    private static String extension(Path p) {
        String n = p.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot < 0 ? "" : n.substring(dot + 1).toLowerCase(Locale.ROOT);
    }

    private static String relative(Path root, Path p) {
        Path r = root.relativize(p);
        StringBuilder sb = new StringBuilder();
        for (Path part : r) {
            sb.append(sb.length() == 0 ? "" : "/").append(part);
        }
        return sb.toString();
    }

    @Override
    public String description() {
        return "image folder " + params.root() + " (" + files.size() + " images"
                + (params.classFolders() ? ", " + classNames.size() + " classes" : "") + ")";
    }

    @Override
    public long size() {
        return files.size();
    }

    @Override
    public List<String> keys() {
        return keys;
    }

    /**
     * The class names, in label order.
     *
     * @return the sorted first-level sub-folder names (empty without class folders)
     */
    public List<String> classNames() {
        return classNames;
    }

    /**
     * The image files, in the folder's natural order.
     *
     * @return an unmodifiable list
     */
    public List<Path> files() {
        return files;
    }

    @Override
    public ItemStream open(long epoch, long seed, boolean shuffle) {
        int n = files.size();
        int[] order = shuffle ? SeededRandom.of(seed, epoch, ORDER_TAG).permutation(n) : null;
        return ItemStream.ofIndices(n, order, this::item);
    }

    private Item item(int i) {
        Path file = files.get(i);
        String name = file.toString();
        return new Item() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Sample decode(SeededRandom rng) {
                byte[] bytes = read(file, "image");
                String caption = null;
                if (params.captions()) {
                    String fn = file.getFileName().toString();
                    Path txt = file.resolveSibling(fn.substring(0, fn.lastIndexOf('.')) + ".txt");
                    if (!Files.isRegularFile(txt)) {
                        throw new DataException(name + ": no caption file " + txt.getFileName() + " beside it (captions: true)");
                    }
                    caption = new String(read(txt, "caption"), StandardCharsets.UTF_8).strip();
                }
                Sample s = notice.decode(name, bytes, params.transform(), rng);
                if (labels != null) {
                    s.label("cls", labels[i]);
                }
                if (caption != null) {
                    s.text("txt", caption);
                }
                return s;
            }
        };
    }

    private static byte[] read(Path file, String what) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new DataException(file + ": cannot read " + what + " file (" + e + ")", e);
        }
    }
}
