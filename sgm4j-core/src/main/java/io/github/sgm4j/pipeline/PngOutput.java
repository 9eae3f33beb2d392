package io.github.sgm4j.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageOutputStream;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * Writes generated images as PNG files carrying the generation parameters in text chunks ({@code
 * tEXt} for Latin-1 values, {@code iTXt} UTF-8 otherwise), and reads those chunks back.
 */
public final class PngOutput {

    private static final String FORMAT = "javax_imageio_png_1.0";

    private PngOutput() {}

    /**
     * The usual text entries of a generated image.
     *
     * @param prompt the prompt
     * @param negative the negative prompt (null: empty)
     * @param seed the seed
     * @param sampler the sampler's name
     * @param steps the steps
     * @param cfg the guidance scale
     * @param model the model's name (the checkpoint file)
     * @return the entries in a fixed order: prompt, negative_prompt, seed, sampler, steps, cfg_scale,
     *     model
     */
    public static Map<String, String> parameters(String prompt, String negative, long seed, String sampler, int steps,
            double cfg, String model) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("prompt", prompt == null ? "" : prompt);
        m.put("negative_prompt", negative == null ? "" : negative);
        m.put("seed", Long.toString(seed));
        m.put("sampler", sampler);
        m.put("steps", Integer.toString(steps));
        m.put("cfg_scale", Double.toString(cfg));
        m.put("model", model);
        return m;
    }

    /**
     * Writes each image of {@code images} to {@code dir/PREFIX-INDEX.png} (index from 0, five digits)
     * with {@code text} in every file. Each file is written to a temporary sibling and moved into
     * place; the directory is created.
     *
     * @param images {@code [N, 3, H, W]} in [-1, 1] (clamped); read, not closed
     * @param dir the output directory
     * @param prefix the file name prefix
     * @param text the text entries (keywords of 1 to 79 Latin-1 characters)
     * @return the written files, in batch order
     * @throws IllegalArgumentException when {@code images} is not {@code [N, 3, H, W]} or a keyword is
     *     invalid
     * @throws UncheckedIOException when a file cannot be written
     */
    public static List<Path> write(NDArray images, Path dir, String prefix, Map<String, String> text) {
        long[] s = images.getShape().getShape();
        if (s.length != 4 || s[1] != 3) {
            throw new IllegalArgumentException("expected images [N, 3, H, W], got " + images.getShape());
        }
        checkKeywords(text);
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < s[0]; i++) {
            Path file = dir.resolve(String.format("%s-%05d.png", prefix, i));
            writeImage(images, i, file, text);
            files.add(file);
        }
        return files;
    }

    /**
     * Writes image {@code index} of {@code images} to {@code file} with {@code text}, through a
     * temporary sibling moved into place; missing directories are created. Pixels are {@code (int)
     * (255 * clamp((x + 1) / 2, 0, 1))}, as the reference saves {@code astype(uint8)}.
     *
     * @param images {@code [N, 3, H, W]} in [-1, 1]; read, not closed
     * @param index the image of the batch
     * @param file the PNG to write (replaced if it exists)
     * @param text the text entries (keywords of 1 to 79 Latin-1 characters)
     * @throws IllegalArgumentException when {@code images} is not {@code [N, 3, H, W]}, the index is
     *     out of range or a keyword is invalid
     * @throws UncheckedIOException when the file cannot be written
     */
    public static void writeImage(NDArray images, int index, Path file, Map<String, String> text) {
        long[] s = images.getShape().getShape();
        if (s.length != 4 || s[1] != 3) {
            throw new IllegalArgumentException("expected images [N, 3, H, W], got " + images.getShape());
        }
        if (index < 0 || index >= s[0]) {
            throw new IllegalArgumentException("image index " + index + " outside the batch of " + s[0]);
        }
        checkKeywords(text);
        int h = (int) s[2];
        int w = (int) s[3];
        float[] v;
        try (NDArray one = images.get(index); NDArray f32 = one.toType(DataType.FLOAT32, false)) {
            v = f32.toFloatArray();
        }
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int rgb = 0;
                for (int c = 0; c < 3; c++) {
                    float f = v[(c * h + y) * w + x];
                    int u = (int) (255f * Math.max(0f, Math.min(1f, (f + 1f) / 2f)));
                    rgb = (rgb << 8) | u;
                }
                img.setRGB(x, y, rgb);
            }
        }
        writeOne(img, file, text);
    }

    private static void checkKeywords(Map<String, String> text) {
        for (String k : text.keySet()) {
            if (k.isEmpty() || k.length() > 79 || !StandardCharsets.ISO_8859_1.newEncoder().canEncode(k)) {
                throw new IllegalArgumentException("PNG text keyword must be 1-79 Latin-1 characters, got '" + k + "'");
            }
        }
    }

    private static void writeOne(BufferedImage img, Path file, Map<String, String> text) {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            ImageWriteParam param = writer.getDefaultWriteParam();
            IIOMetadata meta = writer.getDefaultImageMetadata(ImageTypeSpecifier.createFromRenderedImage(img), param);
            IIOMetadataNode root = new IIOMetadataNode(FORMAT);
            IIOMetadataNode latin = new IIOMetadataNode("tEXt");
            IIOMetadataNode utf8 = new IIOMetadataNode("iTXt");
            for (Map.Entry<String, String> e : text.entrySet()) {
                String value = e.getValue() == null ? "" : e.getValue();
                if (StandardCharsets.ISO_8859_1.newEncoder().canEncode(value)) {
                    IIOMetadataNode entry = new IIOMetadataNode("tEXtEntry");
                    entry.setAttribute("keyword", e.getKey());
                    entry.setAttribute("value", value);
                    latin.appendChild(entry);
                } else {
                    IIOMetadataNode entry = new IIOMetadataNode("iTXtEntry");
                    entry.setAttribute("keyword", e.getKey());
                    entry.setAttribute("compressionFlag", "FALSE");
                    entry.setAttribute("compressionMethod", "0");
                    entry.setAttribute("languageTag", "");
                    entry.setAttribute("translatedKeyword", "");
                    entry.setAttribute("text", value);
                    utf8.appendChild(entry);
                }
            }
            if (latin.hasChildNodes()) {
                root.appendChild(latin);
            }
            if (utf8.hasChildNodes()) {
                root.appendChild(utf8);
            }
            meta.mergeTree(FORMAT, root);
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.deleteIfExists(tmp);
            try (ImageOutputStream out = ImageIO.createImageOutputStream(tmp.toFile())) {
                writer.setOutput(out);
                writer.write(null, new IIOImage(img, null, meta), param);
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        } finally {
            writer.dispose();
        }
    }

    /**
     * The text entries of a PNG ({@code tEXt} and {@code iTXt}), in file order.
     *
     * @param file the PNG
     * @return the entries by keyword
     * @throws IllegalArgumentException when the file is not a PNG
     * @throws UncheckedIOException when it cannot be read
     */
    public static Map<String, String> readText(Path file) {
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            if (in == null) {
                throw new IllegalArgumentException("cannot open " + file);
            }
            java.util.Iterator<ImageReader> readers = ImageIO.getImageReadersByFormatName("png");
            ImageReader reader = readers.next();
            try {
                reader.setInput(in);
                IIOMetadata meta = reader.getImageMetadata(0);
                Node root = meta.getAsTree(FORMAT);
                Map<String, String> out = new LinkedHashMap<>();
                NodeList chunks = root.getChildNodes();
                for (int i = 0; i < chunks.getLength(); i++) {
                    Node chunk = chunks.item(i);
                    boolean latin = chunk.getNodeName().equals("tEXt");
                    if (!latin && !chunk.getNodeName().equals("iTXt")) {
                        continue;
                    }
                    NodeList entries = chunk.getChildNodes();
                    for (int j = 0; j < entries.getLength(); j++) {
                        org.w3c.dom.NamedNodeMap a = entries.item(j).getAttributes();
                        out.put(a.getNamedItem("keyword").getNodeValue(),
                                a.getNamedItem(latin ? "value" : "text").getNodeValue());
                    }
                }
                return out;
            } catch (javax.imageio.IIOException e) {
                throw new IllegalArgumentException("not a PNG: " + file + " (" + e.getMessage() + ")", e);
            } finally {
                reader.dispose();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
