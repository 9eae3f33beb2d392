package io.github.sgm4j.modules.encoders.text;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.GZIPInputStream;

/**
 * The byte-level BPE vocabulary of CLIP: 256 byte symbols, the same with the end-of-word mark
 * {@code </w>}, 48 894 merges (ids 512..49405) and two special tokens (49406, 49407).
 *
 * <p>This is the layout of openai/CLIP's and open_clip's {@code SimpleTokenizer} (built from {@code
 * bpe_simple_vocab_16e6.txt.gz}, shipped with this library) and of HuggingFace's {@code
 * vocab.json}/{@code merges.txt} for {@code openai/clip-vit-large-patch14}. Word pieces are encoded
 * lazily and cached; the cache is thread-safe.
 */
public final class ClipBpe {

    /** The bundled merges file (MIT licence of openai/CLIP, see the LICENSE file beside it). */
    public static final String BUNDLED_BPE_RESOURCE = "bpe_simple_vocab_16e6.txt.gz";

    /** Number of merges CLIP uses from the BPE file: 49152 - 256 - 2. */
    public static final int MERGE_COUNT = 49152 - 256 - 2;

    private static final String END_OF_WORD = "</w>";
    private static final char PAIR_SEPARATOR = ' ';

    private final Map<String, Integer> encoder;
    private final Map<String, Integer> ranks;
    private final String[] byteSymbols;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();
    private final String startToken;
    private final String endToken;

    private ClipBpe(
            Map<String, Integer> encoder,
            Map<String, Integer> ranks,
            String startToken,
            String endToken,
            String source) {
        this.encoder = Collections.unmodifiableMap(encoder);
        this.ranks = Collections.unmodifiableMap(ranks);
        this.byteSymbols = byteSymbols();
        this.startToken = startToken;
        this.endToken = endToken;
        for (String s : byteSymbols) {
            if (!encoder.containsKey(s) || !encoder.containsKey(s + END_OF_WORD)) {
                throw new IllegalArgumentException(
                        source + ": the vocabulary lacks the byte symbol '" + s + "' or '" + s
                                + END_OF_WORD + "'");
            }
        }
        for (String special : new String[] {startToken, endToken}) {
            if (!encoder.containsKey(special)) {
                throw new IllegalArgumentException(
                        source + ": the vocabulary lacks the special token " + special);
            }
        }
    }

    /**
     * The vocabulary of the bundled {@code bpe_simple_vocab_16e6.txt.gz}, built the way CLIP's
     * {@code SimpleTokenizer} builds it, with the given names for the two special tokens (ids
     * 49406 and 49407).
     *
     * @param startToken the start-of-text token text ({@code <|startoftext|>} for HF, {@code
     *     <start_of_text>} for open_clip)
     * @param endToken the end-of-text token text
     * @return the vocabulary
     */
    public static ClipBpe bundled(String startToken, String endToken) {
        return build(bundledMerges(), startToken, endToken, BUNDLED_BPE_RESOURCE);
    }

    /** The bundled file's merges, read once and shared by every vocabulary built from it. */
    private static synchronized List<String[]> bundledMerges() {
        if (bundledMerges == null) {
            try (InputStream in = ClipBpe.class.getResourceAsStream(BUNDLED_BPE_RESOURCE)) {
                if (in == null) {
                    throw new IllegalStateException(
                            "resource " + BUNDLED_BPE_RESOURCE + " is missing from the classpath");
                }
                bundledMerges = readMerges(in, BUNDLED_BPE_RESOURCE);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read resource " + BUNDLED_BPE_RESOURCE, e);
            }
        }
        return bundledMerges;
    }

    private static List<String[]> bundledMerges;

    /**
     * Reads a gzip'd CLIP BPE merges file ({@code bpe_simple_vocab_16e6.txt.gz} format: a header
     * line, then one merge "a b" a line) and builds the vocabulary as CLIP does.
     *
     * @param gz the gzip'd merges file
     * @param startToken the start-of-text token text (id 49406)
     * @param endToken the end-of-text token text (id 49407)
     * @param source a name for error messages
     * @return the vocabulary
     * @throws IOException if the stream cannot be read
     */
    public static ClipBpe fromBpeFile(InputStream gz, String startToken, String endToken, String source)
            throws IOException {
        return build(readMerges(gz, source), startToken, endToken, source);
    }

    private static List<String[]> readMerges(InputStream gz, String source) throws IOException {
        BufferedReader reader = new BufferedReader(
                new InputStreamReader(new GZIPInputStream(gz), StandardCharsets.UTF_8), 1 << 16);
        if (reader.readLine() == null) {
            throw new IllegalArgumentException(source + ": empty BPE file");
        }
        List<String[]> merges = new ArrayList<>(MERGE_COUNT);
        for (int i = 1; i <= MERGE_COUNT; i++) {
            String line = reader.readLine();
            if (line == null) {
                throw new IllegalArgumentException(
                        source + ": expected at least " + (MERGE_COUNT + 1) + " lines, got " + i);
            }
            merges.add(parseMerge(line, source, i + 1));
        }
        return merges;
    }

    private static ClipBpe build(List<String[]> merges, String startToken, String endToken, String source) {
        // ids are list positions; a repeated entry keeps its last position, as Python's dict(zip(...))
        List<String> vocab = new ArrayList<>(2 * 256 + merges.size() + 2);
        List<String> bytes = byteSymbolsInVocabOrder();
        vocab.addAll(bytes);
        for (String s : bytes) {
            vocab.add(s + END_OF_WORD);
        }
        for (String[] m : merges) {
            vocab.add(m[0] + m[1]);
        }
        vocab.add(startToken);
        vocab.add(endToken);
        Map<String, Integer> encoder = new HashMap<>(vocab.size() * 2);
        for (int i = 0; i < vocab.size(); i++) {
            encoder.put(vocab.get(i), i);
        }
        return new ClipBpe(encoder, ranksOf(merges), startToken, endToken, source);
    }

    /**
     * Reads a HuggingFace CLIP tokenizer folder's {@code vocab.json} and {@code merges.txt} (as
     * HF's {@code CLIPTokenizer} does: the merges after the header line, at most {@link
     * #MERGE_COUNT}).
     *
     * @param vocabJson the {@code vocab.json} file (token to id)
     * @param mergesTxt the {@code merges.txt} file
     * @param startToken the start-of-text token text, e.g. {@code <|startoftext|>}
     * @param endToken the end-of-text token text, e.g. {@code <|endoftext|>}
     * @return the vocabulary
     * @throws IOException if a file cannot be read
     */
    public static ClipBpe fromHfFiles(Path vocabJson, Path mergesTxt, String startToken, String endToken)
            throws IOException {
        Map<String, Integer> encoder = new HashMap<>();
        JsonObject json;
        try {
            json = JsonParser.parseString(Files.readString(vocabJson, StandardCharsets.UTF_8))
                    .getAsJsonObject();
        } catch (JsonParseException | IllegalStateException e) {
            throw new IllegalArgumentException(vocabJson + ": not a JSON object of token ids", e);
        }
        for (Map.Entry<String, JsonElement> e : json.entrySet()) {
            try {
                encoder.put(e.getKey(), e.getValue().getAsInt());
            } catch (RuntimeException ex) {
                throw new IllegalArgumentException(
                        vocabJson + ": id of token '" + e.getKey() + "' is not an integer", ex);
            }
        }
        String[] lines = Files.readString(mergesTxt, StandardCharsets.UTF_8).strip().split("\n", -1);
        List<String[]> merges = new ArrayList<>();
        for (int i = 1; i < lines.length && i <= MERGE_COUNT; i++) {
            merges.add(parseMerge(lines[i], mergesTxt.toString(), i + 1));
        }
        return new ClipBpe(encoder, ranksOf(merges), startToken, endToken, vocabJson.toString());
    }

    private static String[] parseMerge(String line, String source, int lineNo) {
        int sp = line.indexOf(' ');
        if (sp > 0 && sp == line.lastIndexOf(' ') && sp < line.length() - 1) {
            return new String[] {line.substring(0, sp), line.substring(sp + 1)};
        }
        String[] parts = line.strip().split("\\s+");
        if (parts.length != 2) {
            throw new IllegalArgumentException(
                    source + " line " + lineNo + ": expected a merge \"a b\", got \"" + line + "\"");
        }
        return parts;
    }

    private static Map<String, Integer> ranksOf(List<String[]> merges) {
        Map<String, Integer> ranks = new HashMap<>();
        for (int i = 0; i < merges.size(); i++) {
            // a repeated merge keeps its last rank, as Python's dict(zip(merges, range(n))) does
            ranks.put(merges.get(i)[0] + PAIR_SEPARATOR + merges.get(i)[1], i);
        }
        return ranks;
    }

    /**
     * CLIP's {@code bytes_to_unicode}: the printable Latin-1 bytes map to themselves, the others to
     * U+0100 upwards, in byte order.
     *
     * @return the symbol of each byte value 0..255
     */
    static String[] byteSymbols() {
        String[] out = new String[256];
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
            out[b] = printable ? String.valueOf((char) b) : String.valueOf((char) (256 + n++));
        }
        return out;
    }

    /**
     * The byte symbols in the order of {@code bytes_to_unicode().values()}: the printable bytes
     * first, then the others (the order of vocabulary ids 0..255).
     */
    private static List<String> byteSymbolsInVocabOrder() {
        String[] symbols = byteSymbols();
        List<String> printable = new ArrayList<>();
        List<String> others = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            (symbols[b].charAt(0) == b ? printable : others).add(symbols[b]);
        }
        printable.addAll(others);
        return printable;
    }

    /**
     * The id of a vocabulary entry. Ids 0..255 are the byte symbols (printable bytes first, as
     * {@code bytes_to_unicode().values()}).
     *
     * @param token a vocabulary entry
     * @return its id, or -1 if absent
     */
    public int id(String token) {
        Integer id = encoder.get(token);
        return id == null ? -1 : id;
    }

    /**
     * The id of the start-of-text token (49406 in CLIP's vocabulary).
     *
     * @return the id
     */
    public int startId() {
        return encoder.get(startToken);
    }

    /**
     * The id of the end-of-text token (49407 in CLIP's vocabulary).
     *
     * @return the id
     */
    public int endId() {
        return encoder.get(endToken);
    }

    /** The token-to-id map (for tests and for writing HF files). */
    Map<String, Integer> vocabulary() {
        return encoder;
    }

    /**
     * The number of distinct entries in the vocabulary (49408 for CLIP).
     *
     * @return the vocabulary size
     */
    public int size() {
        return encoder.size();
    }

    /**
     * Encodes one pre-tokenised piece: its UTF-8 bytes as byte symbols, merged by rank, each symbol
     * looked up (the reference's {@code bpe(token)} then the encoder; a symbol missing from the
     * vocabulary, possible only with a user's {@code vocab.json}, becomes the end-of-text token, HF's
     * unknown token). A piece equal to a special token is that token. Results are cached.
     *
     * @param piece the piece, as the pre-tokeniser produced it
     * @param out where the ids are appended
     */
    public void encodePiece(String piece, List<Integer> out) {
        int[] ids = cache.get(piece);
        if (ids == null) {
            ids = computePiece(piece);
            if (cache.size() < 1_000_000) {
                cache.putIfAbsent(piece, ids);
            }
        }
        for (int id : ids) {
            out.add(id);
        }
    }

    private int[] computePiece(String piece) {
        if (piece.equals(startToken) || piece.equals(endToken)) {
            return new int[] {encoder.get(piece)};
        }
        byte[] utf8 = piece.getBytes(StandardCharsets.UTF_8);
        List<String> word = new ArrayList<>(utf8.length);
        for (byte b : utf8) {
            word.add(byteSymbols[b & 0xFF]);
        }
        int last = word.size() - 1;
        word.set(last, word.get(last) + END_OF_WORD);
        while (word.size() > 1) {
            int bestRank = Integer.MAX_VALUE;
            String bestFirst = null;
            String bestSecond = null;
            for (int i = 0; i + 1 < word.size(); i++) {
                Integer r = ranks.get(word.get(i) + PAIR_SEPARATOR + word.get(i + 1));
                if (r != null && r < bestRank) {
                    bestRank = r;
                    bestFirst = word.get(i);
                    bestSecond = word.get(i + 1);
                }
            }
            if (bestFirst == null) {
                break;
            }
            List<String> merged = new ArrayList<>(word.size());
            int i = 0;
            while (i < word.size()) {
                if (i + 1 < word.size() && word.get(i).equals(bestFirst) && word.get(i + 1).equals(bestSecond)) {
                    merged.add(bestFirst + bestSecond);
                    i += 2;
                } else {
                    merged.add(word.get(i));
                    i++;
                }
            }
            word = merged;
        }
        int[] ids = new int[word.size()];
        for (int i = 0; i < ids.length; i++) {
            // HF maps a symbol missing from a user's vocab.json to its unknown token, <|endoftext|>
            ids[i] = encoder.getOrDefault(word.get(i), endId());
        }
        return ids;
    }
}
