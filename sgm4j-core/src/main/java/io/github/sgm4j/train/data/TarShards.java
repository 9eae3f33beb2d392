package io.github.sgm4j.train.data;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
         * @param shards the shard files
         * @param transform resize, crop, flip
         * @param extensions image member extensions
         * @param captions emit {@code txt}
         * @param labels emit {@code cls}
         * @param shuffleBuffer the buffer shuffle's size
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
