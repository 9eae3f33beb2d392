package io.github.sgm4j.util;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.sgm4j.engine.Tensors;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Captions rendered as images, the counterpart of sgm's {@code log_txt_as_img}: black text on a
 * white RGB canvas, wrapped every {@code int(40 * width / 256)} characters, returned as
 * {@code (B, 3, H, W)} float32 in [-1, 1] ({@code pixel / 127.5 - 1}).
 *
 * <p>The reference draws with PIL and {@code DejaVuSans.ttf}; here the JDK draws with its sans-serif
 * font (DejaVu Sans on most Linux systems), so the pixels are alike but not identical. Rendering
 * runs headless. When the JDK has no usable font (a minimal container without fontconfig), the
 * captions are left blank and a warning is logged once, as the reference does for text it cannot
 * encode.
 */
public final class TextImages {

    private static final Logger LOG = LoggerFactory.getLogger(TextImages.class);
    private static volatile boolean warned;

    private TextImages() {}

    /**
     * Characters per line for a canvas of the given width, as the reference computes it.
     *
     * @param width canvas width in pixels
     * @return {@code int(40 * width / 256)}, at least 1
     */
    public static int charsPerLine(int width) {
        return Math.max(1, (int) (40 * (width / 256.0)));
    }

    /**
     * Splits a caption into lines of {@link #charsPerLine} characters.
     *
     * @param text the caption
     * @param width canvas width in pixels
     * @return the lines, in order (one empty line for an empty caption)
     */
    public static List<String> wrap(String text, int width) {
        int nc = charsPerLine(width);
        List<String> lines = new ArrayList<>();
        for (int start = 0; start < text.length(); start += nc) {
            lines.add(text.substring(start, Math.min(text.length(), start + nc)));
        }
        if (lines.isEmpty()) {
            lines.add("");
        }
        return lines;
    }

    /**
     * Renders each caption on its own canvas.
     *
     * @param manager where the result is created
     * @param height canvas height in pixels
     * @param width canvas width in pixels
     * @param captions one caption per image
     * @param fontSize font size in pixels (the reference uses {@code H // 4} for class labels and
     *     {@code H // 20} for strings and size tuples); values below 1 are raised to 1
     * @return {@code (B, 3, height, width)} float32 in [-1, 1]
     * @throws IllegalArgumentException for a non-positive canvas size or an empty caption list
     */
    public static NDArray render(NDManager manager, int height, int width, List<String> captions, int fontSize) {
        if (height <= 0 || width <= 0) {
            throw new IllegalArgumentException("text image size must be positive, got " + height + "x" + width);
        }
        if (captions.isEmpty()) {
            throw new IllegalArgumentException("no captions to render");
        }
        int plane = height * width;
        float[] data = new float[captions.size() * 3 * plane];
        for (int b = 0; b < captions.size(); b++) {
            int[] rgb = draw(height, width, captions.get(b), Math.max(1, fontSize));
            int base = b * 3 * plane;
            for (int i = 0; i < plane; i++) {
                int p = rgb[i];
                data[base + i] = ((p >> 16) & 0xff) / 127.5f - 1f;
                data[base + plane + i] = ((p >> 8) & 0xff) / 127.5f - 1f;
                data[base + 2 * plane + i] = (p & 0xff) / 127.5f - 1f;
            }
        }
        return Tensors.create(manager, data, new Shape(captions.size(), 3, height, width));
    }

    private static int[] draw(int height, int width, String caption, int fontSize) {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            try {
                g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
                g.setColor(Color.BLACK);
                g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, fontSize));
                FontMetrics fm = g.getFontMetrics();
                int y = fm.getAscent();
                for (String line : wrap(caption, width)) {
                    g.drawString(line, 0, y);
                    y += fm.getHeight();
                }
            } catch (Error | RuntimeException e) {
                // AWTError / InternalError from a JDK without fonts: keep the blank canvas
                if (!warned) {
                    warned = true;
                    LOG.warn("cannot render captions as images ({}); they are left blank", e.toString());
                }
            }
        } finally {
            g.dispose();
        }
        return image.getRGB(0, 0, width, height, null, 0, width);
    }

    static {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }
}
