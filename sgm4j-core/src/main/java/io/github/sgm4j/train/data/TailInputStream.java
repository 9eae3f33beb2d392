package io.github.sgm4j.train.data;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Remembers the last 512 bytes read, so the end of a shard can be checked: a complete tar ends with
 * zero records (Commons Compress reports a shard cut at a record boundary as a normal end).
 */
final class TailInputStream extends FilterInputStream {
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
