package io.github.sgm4j.train.data;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Batches from a {@link Dataset}, endlessly, epoch after epoch: the items of each epoch in the
 * dataset's order for {@code (seed, epoch)}, decoded with the random stream of {@code (seed, epoch,
 * index)}, stacked {@code batchSize} at a time; the incomplete last batch of an epoch is dropped.
 *
 * <p>With {@code numWorkers > 0} a feeder thread reads the items (file listing, tar streaming) and
 * hands each to a pool of {@code numWorkers} decoding threads; the futures wait in a FIFO queue of
 * {@code prefetch * batchSize} slots, so decoding runs ahead of the training step by at most that
 * many samples and batches come out in the dataset's order whatever the threads' timing. With
 * {@code numWorkers = 0} items are decoded on the calling thread.
 *
 * <p>A corrupt, truncated or rejected file throws a {@link DataException} naming it, or, with
 * {@code skipBadFiles}, is skipped, counted ({@link #skippedFiles()}) and logged. Skipped items still
 * count in the {@link Position}, so {@link #seek} reproduces the same batches.
 *
 * <p>Not thread-safe: one thread calls {@link #next()}, {@link #seek} and {@link #close()}.
 */
public final class Loader implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Loader.class);

    /**
     * Loader options (the {@code data.params} keys {@code batch_size}, {@code num_workers}, {@code
     * prefetch}, {@code shuffle}, {@code skip_bad_files}).
     *
     * @param batchSize samples per batch, at least 1
     * @param numWorkers decoding threads; 0 decodes on the caller's thread
     * @param prefetch batches decoded ahead, at least 1 (the queue holds {@code prefetch * batchSize}
     *     samples)
     * @param shuffle whether each epoch's order is shuffled
     * @param skipBadFiles skip and count corrupt or rejected files instead of failing
     */
    public record Options(int batchSize, int numWorkers, int prefetch, boolean shuffle, boolean skipBadFiles) {
        /**
         * Checks the values.
         *
         * @param batchSize samples per batch
         * @param numWorkers decoding threads (0: the caller's thread)
         * @param prefetch batches decoded ahead
         * @param shuffle whether each epoch is shuffled
         * @param skipBadFiles skip and count bad files
         * @throws IllegalArgumentException when a value is out of range
         */
        public Options {
            if (batchSize < 1) {
                throw new IllegalArgumentException("batch_size must be at least 1, got " + batchSize);
            }
            if (numWorkers < 0) {
                throw new IllegalArgumentException("num_workers must be at least 0, got " + numWorkers);
            }
            if (prefetch < 1) {
                throw new IllegalArgumentException("prefetch must be at least 1, got " + prefetch);
            }
        }

        /**
         * The default number of decoding threads: one core is left to the training step, at most 4
         * and at least 1 ({@code max(1, min(4, cores - 1))}).
         *
         * @return the thread count
         */
        public static int defaultWorkers() {
            return Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors() - 1));
        }
    }

    private final Dataset dataset;
    private final Options opts;
    private final long seed;
    private Position position = new Position(0, 0);
    private SlotSource source;
    private ExecutorService workers;
    private long skipped;
    private long skippedInEpoch;
    private long batchesInEpoch;
    private boolean epochFromStart = true;
    private long waitNanos;
    private boolean closed;

    /**
     * A loader at position {@code (0, 0)}. No thread starts before the first {@link #next()}.
     *
     * @param dataset the data
     * @param opts the options
     * @param seed the run seed (epoch orders, crops and flips)
     */
    public Loader(Dataset dataset, Options opts, long seed) {
        this.dataset = dataset;
        this.opts = opts;
        this.seed = seed;
    }

    /**
     * The dataset read.
     *
     * @return the dataset
     */
    public Dataset dataset() {
        return dataset;
    }

    /**
     * The options.
     *
     * @return the options
     */
    public Options options() {
        return opts;
    }

    /**
     * Full batches per epoch when the dataset's size is known and no file is skipped.
     *
     * @return {@code size / batchSize}, or -1 for a dataset of unknown size
     */
    public long batchesPerEpoch() {
        long n = dataset.size();
        return n < 0 ? -1 : n / opts.batchSize();
    }

    /**
     * Where the next batch begins: save it with a checkpoint and {@link #seek} to it on resume.
     *
     * @return the position of the next item to read
     */
    public Position position() {
        return position;
    }

    /**
     * Continues from {@code (epoch, index)}: the next batch is the one an uninterrupted loader gives
     * at that position. Stops the threads reading ahead (their work is dropped).
     *
     * @param epoch the 0-based epoch
     * @param index the 0-based item index within the epoch
     */
    public void seek(long epoch, long index) {
        seek(new Position(epoch, index));
    }

    /**
     * Continues from {@code position} (see {@link #seek(long, long)}).
     *
     * @param position the position, e.g. a saved {@link #position()}
     */
    public void seek(Position position) {
        ensureOpen();
        stopSource();
        this.position = position;
        this.epochFromStart = position.index() == 0;
        this.batchesInEpoch = 0;
        this.skippedInEpoch = 0;
    }

    /**
     * Files skipped as bad since this loader was made (with {@code skipBadFiles}).
     *
     * @return the count
     */
    public long skippedFiles() {
        return skipped;
    }

    /**
     * Total time {@link #next()} spent waiting for decoded samples (the time the training step
     * waited for data).
     *
     * @return nanoseconds
     */
    public long waitNanos() {
        return waitNanos;
    }

    /**
     * The next batch.
     *
     * @return a batch of {@code batchSize} samples
     * @throws DataException for a bad file (without {@code skipBadFiles}), an unreadable data set, or
     *     an epoch that gives no complete batch
     */
    public Batch next() {
        ensureOpen();
        if (source == null) {
            source = opts.numWorkers() == 0 ? new InlineSource(position) : new ThreadedSource(position);
        }
        int b = opts.batchSize();
        List<Sample> got = new ArrayList<>(b);
        Position start = position;
        while (got.size() < b) {
            long t0 = System.nanoTime();
            Slot s = source.take();
            Sample sample = null;
            DataException bad = null;
            if (!s.end()) {
                try {
                    sample = s.get();
                } catch (DataException e) {
                    bad = e;
                }
            }
            waitNanos += System.nanoTime() - t0;
            if (s.end()) {
                if (epochFromStart && batchesInEpoch == 0) {
                    throw new DataException(dataset.description() + ": epoch " + s.epoch() + " gave no complete batch of "
                            + b + " (" + s.index() + " items, " + skippedInEpoch + " skipped as bad files)");
                }
                got.clear();
                position = new Position(s.epoch() + 1, 0);
                start = position;
                epochFromStart = true;
                batchesInEpoch = 0;
                skippedInEpoch = 0;
                continue;
            }
            position = new Position(s.epoch(), s.index() + 1);
            if (bad != null) {
                if (!opts.skipBadFiles()) {
                    throw bad;
                }
                skipped++;
                skippedInEpoch++;
                LOG.warn("skipped bad file ({} skipped so far): {}", skipped, bad.getMessage());
                continue;
            }
            got.add(sample);
        }
        batchesInEpoch++;
        return Batch.collate(got, start, position);
    }

    /** Stops the feeder and decoding threads; later calls fail. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        stopSource();
        if (workers != null) {
            workers.shutdownNow();
        }
        if (skipped > 0) {
            LOG.info("{}: {} bad files skipped", dataset.description(), skipped);
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the loader of " + dataset.description() + " is closed");
        }
    }

    private void stopSource() {
        if (source != null) {
            source.close();
            source = null;
        }
    }

    private SeededRandom rngFor(long epoch, long index) {
        return SeededRandom.of(seed, epoch, index);
    }

    private synchronized ExecutorService workers() {
        if (workers == null) {
            AtomicInteger n = new AtomicInteger();
            ThreadFactory tf = r -> {
                Thread t = new Thread(r, "sgm4j-data-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
            };
            workers = Executors.newFixedThreadPool(opts.numWorkers(), tf);
        }
        return workers;
    }

    /** A queue entry: an item's decoding (done or pending), the end of an epoch, or a fatal error. */
    private record Slot(long epoch, long index, Future<Sample> future, Sample done, DataException failed,
            boolean end, RuntimeException fatal) {

        static Slot endOf(long epoch, long count) {
            return new Slot(epoch, count, null, null, null, true, null);
        }

        static Slot item(long epoch, long index, Future<Sample> future, Sample done, DataException failed) {
            return new Slot(epoch, index, future, done, failed, false, null);
        }

        Sample get() {
            if (failed != null) {
                throw failed;
            }
            if (future == null) {
                return done;
            }
            try {
                return future.get();
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                if (c instanceof RuntimeException r) {
                    throw r;
                }
                if (c instanceof Error err) {
                    throw err;
                }
                throw new IllegalStateException("decoding failed: " + c, c);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for decoded data", e);
            } catch (CancellationException e) {
                throw new IllegalStateException("decoding was cancelled", e);
            }
        }
    }

    /** The slots of consecutive epochs from a position. */
    private interface SlotSource {
        Slot take();

        void close();
    }

    /** Decodes on the caller's thread. */
    private final class InlineSource implements SlotSource {
        private long epoch;
        private long index;
        private ItemStream stream;

        InlineSource(Position from) {
            this.epoch = from.epoch();
            this.index = from.index();
        }

        @Override
        public Slot take() {
            if (stream == null) {
                stream = dataset.open(epoch, seed, opts.shuffle());
                index = stream.skip(index);
            }
            Item it = stream.next();
            if (it == null) {
                stream.close();
                stream = null;
                Slot end = Slot.endOf(epoch, index);
                epoch++;
                index = 0;
                return end;
            }
            Slot s;
            try {
                s = Slot.item(epoch, index, null, it.decode(rngFor(epoch, index)), null);
            } catch (DataException e) {
                s = Slot.item(epoch, index, null, null, e);
            }
            index++;
            return s;
        }

        @Override
        public void close() {
            if (stream != null) {
                stream.close();
                stream = null;
            }
        }
    }

    /** A feeder thread submits items to the decoding pool; their futures queue up in order. */
    private final class ThreadedSource implements SlotSource {
        private final BlockingQueue<Slot> queue;
        private final Thread feeder;
        private volatile boolean stop;
        private RuntimeException fatal;

        ThreadedSource(Position from) {
            this.queue = new ArrayBlockingQueue<>(Math.max(1, opts.prefetch() * opts.batchSize()));
            ExecutorService pool = workers();
            this.feeder = new Thread(() -> feed(from, pool), "sgm4j-data-feeder");
            this.feeder.setDaemon(true);
            this.feeder.start();
        }

        private void feed(Position from, ExecutorService pool) {
            long epoch = from.epoch();
            long start = from.index();
            try {
                while (!stop) {
                    try (ItemStream s = dataset.open(epoch, seed, opts.shuffle())) {
                        long i = s.skip(start);
                        Item it;
                        while (!stop && (it = s.next()) != null) {
                            Item item = it;
                            SeededRandom rng = rngFor(epoch, i);
                            Future<Sample> f = pool.submit(() -> item.decode(rng));
                            queue.put(Slot.item(epoch, i, f, null, null));
                            i++;
                        }
                        if (stop) {
                            return;
                        }
                        queue.put(Slot.endOf(epoch, i));
                    }
                    epoch++;
                    start = 0;
                }
            } catch (InterruptedException e) {
                // stopped by close()
            } catch (RuntimeException | Error e) {
                if (!stop) {
                    RuntimeException r = e instanceof RuntimeException re ? re
                            : new IllegalStateException("the data feeder of " + dataset.description() + " failed: " + e, e);
                    try {
                        queue.put(new Slot(epoch, -1, null, null, null, false, r));
                    } catch (InterruptedException ie) {
                        // stopped by close()
                    }
                }
            }
        }

        @Override
        public Slot take() {
            if (fatal != null) {
                throw fatal;
            }
            Slot s;
            try {
                s = queue.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for data", e);
            }
            if (s.fatal() != null) {
                fatal = s.fatal();
                throw fatal;
            }
            return s;
        }

        @Override
        public void close() {
            stop = true;
            feeder.interrupt();
            try {
                feeder.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            for (Slot s : queue) {
                if (s.future() != null) {
                    s.future().cancel(true);
                }
            }
            queue.clear();
        }
    }
}
