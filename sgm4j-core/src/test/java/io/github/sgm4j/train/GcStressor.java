package io.github.sgm4j.train;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A background thread that keeps the garbage collector busy and recycles freed native memory: it
 * allocates direct buffers filled with NaN bytes (0xFF), drops them and calls {@link System#gc()}
 * in a loop. Memory that DJL hands to libtorch without ownership and that the collector frees
 * mid-training is then likely to be reused and overwritten with NaNs.
 */
final class GcStressor implements AutoCloseable {

    private final Thread thread;
    private volatile boolean running = true;

    GcStressor() {
        thread = new Thread(this::loop, "gc-stressor");
        thread.setDaemon(true);
        thread.start();
    }

    private void loop() {
        List<ByteBuffer> keep = new ArrayList<>();
        int i = 0;
        while (running) {
            int size = 64 << (i % 12); // 64 B .. 128 KiB: the sizes of scalars, schedules and batches
            ByteBuffer b = ByteBuffer.allocateDirect(size);
            while (b.hasRemaining()) {
                b.put((byte) 0xFF);
            }
            keep.add(b);
            if (keep.size() > 32) {
                keep.clear();
                System.gc();
            }
            i++;
        }
    }

    @Override
    public void close() throws InterruptedException {
        running = false;
        thread.join();
    }
}
