package io.github.sgm4j.train.data;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Webdataset-style tar shards (target {@code sgm4j.data.TarShards}), read as streams: consecutive
 * members with the same key ({@code 000123.jpg}, {@code 000123.txt}, {@code 000123.cls}; the key is
 * the member path up to the first dot of its file name, the extension the rest) make one sample.
 * The image member (the first of {@code extensions} present) gives {@code jpg} and the size keys of
 * {@link ImageTransform}; with {@code captions} the {@code .txt} member gives {@code txt}; with
 * {@code labels} the {@code .cls} member (a decimal integer) gives {@code cls}. Other members are
 * ignored. {@code .tar.gz} / {@code .tgz} shards are gunzipped on the fly.
 *
 * <p>Order: the shards in their listed order, or (shuffled) in a permutation per epoch; within a
 * shard, file order, or with {@code shuffleBuffer > 0} a seeded buffer shuffle as webdataset's
 * {@code shuffle(n)} (a buffer of undecoded samples; each output is a random buffer entry, replaced
 * by the next sample read). A shard that cannot be opened or is truncated or corrupt gives one bad
 * item naming it (skipped and counted with {@code skip_bad_files}), and reading goes on with the
 * next shard.
 */
public final class TarShards implements Dataset {

    private static final long SHARD_TAG = 0x5A4D5L;
    private static final long BUFFER_TAG = 0xB0FFE2L;
    private static final Pattern RANGE = Pattern.compile("\\{(\\d+)\\.\\.(\\d+)\\}");

    /**
     * The settings.
     *
     * @param shards the shard files, in their natural order
     * @param transform resize, crop, flip
     * @param extensions image member extensions, lower case, in order of preference
     * @param captions require a {@code .txt} member and emit {@code txt}
     * @param labels require a {@code .cls} member and emit {@code cls}
     * @param shuffleBuffer samples held for the buffer shuffle when shuffling (0: shard order only)
     */
    public record Params(List<Path> shards, ImageTransform transform, List<String> extensions, boolean captions,
            boolean labels, int shuffleBuffer) {
        /**
         * Checks the values.
         *
         * @throws DataException when there is no shard
         * @throws IllegalArgumentException when {@code shuffleBuffer < 0}
         */
        public Params {
            shards = List.copyOf(shards);
            if (shards.isEmpty()) {
                throw new DataException("no tar shards given");
            }
            if (shuffleBuffer < 0) {
                throw new IllegalArgumentException("shuffle_buffer must be at least 0, got " + shuffleBuffer);
            }
        }
    }

    private final Params params;
    private final List<String> keys;
    private final RgbNotice notice;

    /**
     * A reader of the shards (nothing is opened until an epoch is).
     *
     * @param params the settings
     */
    public TarShards(Params params) {
        this.params = params;
        List<String> k = new ArrayList<>(List.of("jpg", "original_size_as_tuple", "crop_coords_top_left",
                "target_size_as_tuple"));
        if (params.labels()) {
            k.add("cls");
        }
        if (params.captions()) {
            k.add("txt");
        }
        this.keys = List.copyOf(k);
        this.notice = new RgbNotice(description());
    }

    /**
     * The shard files a pattern names: a directory (its {@code .tar}, {@code .tar.gz} and {@code .tgz}
     * files, sorted), or a path with braces ({@code {000000..000099}} zero-padded ranges, {@code
     * {a,b}} alternatives) and glob characters ({@code * ? [..]}) in the file name.
     *
     * @param pattern the pattern, relative to the working directory unless absolute
     * @return the files, in pattern order (glob matches sorted)
     * @throws DataException when a named file does not exist or a glob or directory matches nothing
     */
    public static List<Path> list(String pattern) {
        Path dir = Path.of(pattern);
        if (Files.isDirectory(dir)) {
            List<Path> out;
            try (Stream<Path> s = Files.list(dir)) {
                out = s.filter(p -> isShard(p) && Files.isRegularFile(p)).sorted().toList();
            } catch (IOException e) {
                throw new DataException("cannot list shard directory " + dir + ": " + e.getMessage(), e);
            }
            if (out.isEmpty()) {
                throw new DataException("shard directory " + dir.toAbsolutePath() + " has no .tar, .tar.gz or .tgz file");
            }
            return out;
        }
        List<Path> out = new ArrayList<>();
        for (String p : expandBraces(pattern)) {
            Path path = Path.of(p);
            String name = path.getFileName() == null ? "" : path.getFileName().toString();
            if (name.matches(".*[*?\\[].*")) {
                Path parent = path.getParent() == null ? Path.of(".") : path.getParent();
                TreeSet<Path> found = new TreeSet<>();
                try (DirectoryStream<Path> ds = Files.newDirectoryStream(parent, name)) {
                    for (Path f : ds) {
                        if (Files.isRegularFile(f)) {
                            found.add(path.getParent() == null ? Path.of(f.getFileName().toString()) : f);
                        }
                    }
                } catch (IOException e) {
                    throw new DataException("cannot list " + parent.toAbsolutePath() + " for shard pattern " + p + ": "
                            + e.getMessage(), e);
                }
                if (found.isEmpty()) {
                    throw new DataException("shard pattern " + p + " matches no file");
                }
                out.addAll(found);
            } else {
                if (!Files.isRegularFile(path)) {
                    throw new DataException("tar shard " + path.toAbsolutePath() + " does not exist (from pattern "
                            + pattern + ")");
                }
                out.add(path);
            }
        }
        return out;
    }

    private static boolean isShard(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".tar") || n.endsWith(".tar.gz") || n.endsWith(".tgz");
    }

    /**
     * Expands brace groups left to right: {@code a{1..3}b} → {@code a1b a2b a3b} (zero padding kept
     * from the first bound's width), {@code {x,y}} → {@code x y}.
     *
     * @param pattern the pattern
     * @return the expansions, in order
     * @throws DataException when a brace is unbalanced or a range runs backwards
     */
    public static List<String> expandBraces(String pattern) {
        int open = pattern.indexOf('{');
        if (open < 0) {
            if (pattern.indexOf('}') >= 0) {
                throw new DataException("unbalanced '}' in shard pattern " + pattern);
            }
            return List.of(pattern);
        }
        int close = pattern.indexOf('}', open);
        if (close < 0) {
            throw new DataException("unbalanced '{' in shard pattern " + pattern);
        }
        String head = pattern.substring(0, open);
        String body = pattern.substring(open, close + 1);
        String tail = pattern.substring(close + 1);
        List<String> alts = new ArrayList<>();
        Matcher m = RANGE.matcher(body);
        if (m.matches()) {
            long lo = Long.parseLong(m.group(1));
            long hi = Long.parseLong(m.group(2));
            if (hi < lo) {
                throw new DataException("shard pattern " + pattern + ": range " + body + " runs backwards");
            }
            int width = m.group(1).length();
            for (long i = lo; i <= hi; i++) {
                String s = Long.toString(i);
                alts.add("0".repeat(Math.max(0, width - s.length())) + s);
            }
        } else {
            for (String a : body.substring(1, body.length() - 1).split(",", -1)) {
                alts.add(a);
            }
        }
        List<String> out = new ArrayList<>();
        for (String a : alts) {
            for (String rest : expandBraces(tail)) {
                out.add(head + a + rest);
            }
        }
        return out;
    }

    @Override
    public String description() {
        return "tar shards " + params.shards().get(0) + (params.shards().size() > 1 ? " .. "
                + params.shards().get(params.shards().size() - 1) : "") + " (" + params.shards().size() + " shards)";
    }

    @Override
    public long size() {
        return -1;
    }

    @Override
    public List<String> keys() {
        return keys;
    }

    @Override
    public ItemStream open(long epoch, long seed, boolean shuffle) {
        List<Path> shards = params.shards();
        int[] order = shuffle ? SeededRandom.of(seed, epoch, SHARD_TAG).permutation(shards.size()) : null;
        List<Path> ordered = new ArrayList<>(shards.size());
        for (int i = 0; i < shards.size(); i++) {
            ordered.add(shards.get(order == null ? i : order[i]));
        }
        ItemStream s = new ShardStream(ordered);
        if (shuffle && params.shuffleBuffer() > 0) {
            s = new BufferShuffle(s, params.shuffleBuffer(), SeededRandom.of(seed, epoch, BUFFER_TAG));
        }
        return s;
    }

    /** Members grouped by key, shard after shard. */
    private final class ShardStream implements ItemStream {
        private final List<Path> shards;
        private int next;
        private Path shard;
        private TarArchiveInputStream tar;
        private TailInputStream tail;
        private TarArchiveEntry pending;
        private byte[] pendingBytes;
        private String lastMember;

        ShardStream(List<Path> shards) {
            this.shards = shards;
        }

        @Override
        public Item next() {
            while (true) {
                if (tar == null) {
                    if (next >= shards.size()) {
                        return null;
                    }
                    shard = shards.get(next++);
                    lastMember = null;
                    try {
                        InputStream in = new BufferedInputStream(Files.newInputStream(shard), 1 << 16);
                        String n = shard.getFileName().toString().toLowerCase(Locale.ROOT);
                        if (n.endsWith(".gz") || n.endsWith(".tgz")) {
                            in = new GZIPInputStream(in, 1 << 16);
                        }
                        tail = new TailInputStream(in);
                        tar = new TarArchiveInputStream(tail);
                    } catch (IOException e) {
                        return Item.failed(shard.toString(), new DataException("tar shard " + shard
                                + ": cannot open (" + e + ")", e));
                    }
                }
                String key = null;
                Map<String, byte[]> members = new LinkedHashMap<>();
                try {
                    while (true) {
                        if (pending == null && !advance()) {
                            closeTar();
                            break;
                        }
                        String[] ke = split(pending.getName());
                        if (key != null && !key.equals(ke[0])) {
                            break;
                        }
                        key = ke[0];
                        members.put(ke[1], pendingBytes);
                        pending = null;
                        pendingBytes = null;
                    }
                } catch (IOException | RuntimeException e) {
                    Path bad = shard;
                    String after = lastMember;
                    closeTar();
                    return Item.failed(bad.toString(), new DataException("tar shard " + bad + ": truncated or corrupt"
                            + (after == null ? " at its start" : " after member " + after) + " (" + e.getMessage()
                            + "); the rest of the shard is not read", e instanceof IOException ? e : null));
                }
                if (key != null) {
                    return item(shard + ":" + key, members);
                }
            }
        }

        /** Reads the next regular member into {@code pending}; false at the end of the shard. */
        private boolean advance() throws IOException {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                if (e.isFile()) {
                    pending = e;
                    pendingBytes = tar.readAllBytes();
                    if (pendingBytes.length != e.getSize()) {
                        throw new IOException("member " + e.getName() + " has " + pendingBytes.length + " of "
                                + e.getSize() + " bytes");
                    }
                    lastMember = e.getName();
                    return true;
                }
            }
            tail.checkComplete();
            return false;
        }

        private void closeTar() {
            if (tar != null) {
                try {
                    tar.close();
                } catch (IOException ignored) {
                    // read-only stream: nothing to flush
                }
                tar = null;
            }
            pending = null;
            pendingBytes = null;
        }

        @Override
        public void close() {
            closeTar();
            next = shards.size();
        }
    }

    /**
     * Remembers the last 512 bytes read, so the end of a shard can be checked: a complete tar ends with
     * zero records (Commons Compress reports a shard cut at a record boundary as a normal end).
     */
    private static final class TailInputStream extends java.io.FilterInputStream {
        private final byte[] last = new byte[512];
        private long total;

        TailInputStream(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                System.arraycopy(last, 1, last, 0, 511);
                last[511] = (byte) b;
                total++;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                if (n >= 512) {
                    System.arraycopy(b, off + n - 512, last, 0, 512);
                } else {
                    System.arraycopy(last, n, last, 0, 512 - n);
                    System.arraycopy(b, off, last, 512 - n, n);
                }
                total += n;
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long done = 0;
            byte[] buf = new byte[8192];
            while (done < n) {
                int r = read(buf, 0, (int) Math.min(buf.length, n - done));
                if (r < 0) {
                    break;
                }
                done += r;
            }
            return done;
        }

        /** Reads to the end and throws unless the archive ends with a zero record on a record boundary. */
        void checkComplete() throws IOException {
            byte[] buf = new byte[8192];
            while (read(buf, 0, buf.length) >= 0) {
                // drain the end-of-archive records and block padding
            }
            boolean zero = total >= 1024 && total % 512 == 0;
            for (int i = 0; zero && i < 512; i++) {
                zero = last[i] == 0;
            }
            if (!zero) {
                throw new IOException("the archive ends after " + total + " bytes without the zero records of a"
                        + " complete tar");
            }
        }
    }

    /** Webdataset's key split: up to the first dot of the file name, and the rest. */
    static String[] split(String member) {
        int slash = member.lastIndexOf('/');
        int dot = member.indexOf('.', slash + 1);
        if (dot < 0) {
            return new String[] {member, ""};
        }
        return new String[] {member.substring(0, dot), member.substring(dot + 1).toLowerCase(Locale.ROOT)};
    }

    private Item item(String name, Map<String, byte[]> members) {
        return new Item() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Sample decode(SeededRandom rng) {
                byte[] image = null;
                for (String ext : params.extensions()) {
                    image = members.get(ext);
                    if (image != null) {
                        break;
                    }
                }
                if (image == null) {
                    throw new DataException(name + ": no image member (" + params.extensions() + ") among "
                            + members.keySet());
                }
                Sample s = notice.decode(name, image, params.transform(), rng);
                if (params.labels()) {
                    byte[] cls = members.get("cls");
                    if (cls == null) {
                        throw new DataException(name + ": no .cls member (labels: true); members " + members.keySet());
                    }
                    String t = new String(cls, StandardCharsets.UTF_8).strip();
                    try {
                        s.label("cls", Long.parseLong(t));
                    } catch (NumberFormatException e) {
                        throw new DataException(name + ".cls: not an integer class label: \"" + t + "\"");
                    }
                }
                if (params.captions()) {
                    byte[] txt = members.get("txt");
                    if (txt == null) {
                        throw new DataException(name + ": no .txt member (captions: true); members " + members.keySet());
                    }
                    s.text("txt", new String(txt, StandardCharsets.UTF_8).strip());
                }
                return s;
            }
        };
    }

    /** Webdataset's {@code shuffle(n)} over undecoded items, from a seeded stream. */
    private static final class BufferShuffle implements ItemStream {
        private final ItemStream in;
        private final int capacity;
        private final SeededRandom rng;
        private final List<Item> buffer = new ArrayList<>();
        private boolean drained;

        BufferShuffle(ItemStream in, int capacity, SeededRandom rng) {
            this.in = in;
            this.capacity = capacity;
            this.rng = rng;
        }

        @Override
        public Item next() {
            while (!drained && buffer.size() < capacity) {
                Item it = in.next();
                if (it == null) {
                    drained = true;
                } else {
                    buffer.add(it);
                }
            }
            if (buffer.isEmpty()) {
                return null;
            }
            int j = rng.nextInt(buffer.size());
            Item out = buffer.get(j);
            Item last = buffer.remove(buffer.size() - 1);
            if (j < buffer.size()) {
                buffer.set(j, last);
            }
            return out;
        }

        @Override
        public void close() {
            in.close();
        }
    }
}
