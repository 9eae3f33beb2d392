package io.github.sgm4j.train.data;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import javax.imageio.ImageIO;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/** Images and tar shards the data tests write. */
final class TestImages {

    private TestImages() {}

    /** The red, green and blue values of pixel (y, x) of the pattern images. */
    static int[] rgb(int y, int x, int seed) {
        return new int[] {(10 * y + 3 * x + seed) % 256, (7 * y + 20 * x + 2 * seed) % 256, (40 * y + x + 3 * seed) % 256};
    }

    /** An RGB image h x w of the pattern {@link #rgb}. */
    static BufferedImage pattern(int h, int w, int seed) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int[] c = rgb(y, x, seed);
                img.setRGB(x, y, (c[0] << 16) | (c[1] << 8) | c[2]);
            }
        }
        return img;
    }

    static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (!ImageIO.write(img, format, out)) {
            throw new IOException("no writer for " + format);
        }
        return out.toByteArray();
    }

    static Path write(Path file, BufferedImage img, String format) throws IOException {
        Files.createDirectories(file.getParent());
        Files.write(file, encode(img, format));
        return file;
    }

    static Path writeText(Path file, String text) throws IOException {
        Files.createDirectories(file.getParent());
        return Files.writeString(file, text, StandardCharsets.UTF_8);
    }

    /** A tar of the members in map order. */
    static Path tar(Path file, Map<String, byte[]> members) throws IOException {
        Files.createDirectories(file.getParent());
        try (OutputStream os = Files.newOutputStream(file); TarArchiveOutputStream tar = new TarArchiveOutputStream(os)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (Map.Entry<String, byte[]> e : members.entrySet()) {
                TarArchiveEntry entry = new TarArchiveEntry(e.getKey());
                entry.setSize(e.getValue().length);
                tar.putArchiveEntry(entry);
                tar.write(e.getValue());
                tar.closeArchiveEntry();
            }
        }
        return file;
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Scaled value of an 8-bit sample, as the pipeline computes it. */
    static float scaled(int v) {
        return v / 255.0f * 2.0f - 1.0f;
    }
}
