package io.github.sgm4j.modules.encoders.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.Gson;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLIP tokenizers' API around the golden ids: HF files, errors, truncation, threads. */
class ClipTokenizerTest {

    private static final List<String> PROMPTS = List.of(
            "a photograph of an astronaut riding a horse",
            "it's a dog's life, CAF\u00c9 cr\u00e8me \u6771\u4eac \ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67",
            "caf\u00c3\u00a9 &amp; \u201cquotes\u201d \uff26\uff55\uff4c\uff4c",
            "");

    /** Writes vocab.json and merges.txt the way HF's clip-vit-large-patch14 folder lays them out. */
    private static void writeHfFolder(Path dir) throws IOException {
        ClipBpe bpe = ClipBpe.bundled(ClipTokenizer.START_OF_TEXT, ClipTokenizer.END_OF_TEXT);
        Map<String, Integer> vocab = new HashMap<>(bpe.vocabulary());
        Files.writeString(dir.resolve("vocab.json"), new Gson().toJson(vocab), StandardCharsets.UTF_8);
        List<String> lines = new ArrayList<>();
        try (InputStream in = ClipBpe.class.getResourceAsStream(ClipBpe.BUNDLED_BPE_RESOURCE);
                BufferedReader r = new BufferedReader(
                        new InputStreamReader(new GZIPInputStream(in), StandardCharsets.UTF_8))) {
            r.readLine();
            lines.add("#version: 0.2");
            for (int i = 0; i < ClipBpe.MERGE_COUNT; i++) {
                lines.add(r.readLine());
            }
        }
        Files.write(dir.resolve("merges.txt"), lines, StandardCharsets.UTF_8);
    }

    @TempDir
    static Path hfDir;

    @BeforeAll
    static void writeFolderOnce() throws IOException {
        writeHfFolder(hfDir);
    }

    @Test
    void hfFolderGivesTheBundledIds() throws IOException {
        ClipTokenizer fromFolder = ClipTokenizer.fromHfFolder(hfDir);
        ClipTokenizer bundled = new ClipTokenizer();
        for (String p : PROMPTS) {
            assertArrayEquals(bundled.encodeRow(p), fromFolder.encodeRow(p), p);
        }
    }

    @Test
    void specialIdsAndPadding() {
        ClipBpe hfBpe = ClipBpe.bundled(ClipTokenizer.START_OF_TEXT, ClipTokenizer.END_OF_TEXT);
        assertEquals(49406, hfBpe.startId());
        assertEquals(49407, hfBpe.endId());
        assertEquals(49408, hfBpe.size());
        int[] hf = new ClipTokenizer().encodeRow("");
        int[] oc = new OpenClipTokenizer().encodeRow("");
        assertEquals(49406, hf[0]);
        assertEquals(49407, hf[1]);
        assertEquals(49407, hf[76]);
        assertEquals(49406, oc[0]);
        assertEquals(49407, oc[1]);
        assertEquals(0, oc[76]);
    }

    @Test
    void truncationKeepsTheEndTokenAndReportsTheLength() {
        String longPrompt = "a ".repeat(100);
        ClipTokenizer hf = new ClipTokenizer();
        OpenClipTokenizer oc = new OpenClipTokenizer();
        int[] row = hf.encodeRow(longPrompt);
        assertEquals(49407, row[76]);
        assertEquals(102, hf.untruncatedLength(longPrompt));
        assertEquals(102, oc.untruncatedLength(longPrompt));
        assertEquals(49407, oc.encodeRow(longPrompt)[76]);
        assertTrue(hf.untruncatedLength("a cat") <= hf.contextLength());
    }

    @Test
    void embedderFactoriesUseTheseTokenizers() {
        int[] hf = new ClipTokenizer().encodeRow("a cat");
        assertArrayEquals(hf, Tokenizers.lazy(() -> Tokenizers.hfClip(77), 77).encode(List.of("a cat"))[0]);
        assertArrayEquals(new OpenClipTokenizer().encodeRow("a cat"), Tokenizers.openClip().encode(List.of("a cat"))[0]);
        int[] short8 = Tokenizers.hfClip(8).encode(List.of("a photograph of an astronaut riding a horse"))[0];
        assertEquals(8, short8.length);
        assertEquals(49407, short8[7]);
        assertEquals(Arrays.toString(Arrays.copyOf(
                        new ClipTokenizer().encodeRow("a photograph of an astronaut riding a horse"), 7)),
                Arrays.toString(Arrays.copyOf(short8, 7)));
    }

    @Test
    void badTextNeverThrows() {
        ClipTokenizer hf = new ClipTokenizer();
        OpenClipTokenizer oc = new OpenClipTokenizer();
        for (String p : List.of("\ud800", "\udc00x\ud800", "\u0000\u0007\u001b[31m", "&#xD800;&#0;", "\ufffe\uffff",
                "<|endoftext|><|startoftext|>", " \t\n\r ", "\ud83d")) {
            assertEquals(77, hf.encodeRow(p).length, p);
            assertEquals(77, oc.encodeRow(p).length, p);
        }
    }

    @Test
    void nullTextIsATypedError() {
        ClipTokenizer hf = new ClipTokenizer();
        List<String> texts = Arrays.asList("a", null);
        NullPointerException e = assertThrows(NullPointerException.class, () -> hf.encode(texts));
        assertTrue(e.getMessage().contains("texts[1]"), e.getMessage());
    }

    @Test
    void missingOrBrokenHfFilesNameTheFile(@TempDir Path dir) throws IOException {
        assertThrows(NoSuchFileException.class, () -> ClipTokenizer.fromHfFolder(dir));
        Files.writeString(dir.resolve("vocab.json"), "{\"a\": 0}", StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\na b c\n", StandardCharsets.UTF_8);
        IllegalArgumentException e =
                assertThrows(IllegalArgumentException.class, () -> ClipTokenizer.fromHfFolder(dir));
        assertTrue(e.getMessage().contains("merges.txt line 2"), e.getMessage());
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n", StandardCharsets.UTF_8);
        e = assertThrows(IllegalArgumentException.class, () -> ClipTokenizer.fromHfFolder(dir));
        assertTrue(e.getMessage().contains("vocab.json"), e.getMessage());
    }

    @Test
    void concurrentEncodingEqualsSequential() throws Exception {
        ClipTokenizer hf = new ClipTokenizer();
        List<String> prompts = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            prompts.add("prompt number " + i + " with word" + (i % 17) + " and caf\u00e9 " + "x".repeat(i % 13));
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<int[][]>> futures = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                futures.add(pool.submit(() -> hf.encode(prompts)));
            }
            int[][] expected = new ClipTokenizer().encode(prompts);
            for (Future<int[][]> f : futures) {
                int[][] got = f.get();
                for (int i = 0; i < expected.length; i++) {
                    assertArrayEquals(expected[i], got[i], prompts.get(i));
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
