package io.github.sgm4j.io.pickle;

/** A Python {@code bytes} (or {@code bytearray}) value; equality is identity. */
public final class PickleBytes {

    private final byte[] data;

    PickleBytes(byte[] data) {
        this.data = data;
    }

    /**
     * The bytes.
     *
     * @return a copy
     */
    public byte[] toByteArray() {
        return data.clone();
    }

    /**
     * Number of bytes.
     *
     * @return the length
     */
    public int length() {
        return data.length;
    }

    byte[] raw() {
        return data;
    }

    @Override
    public String toString() {
        return PickleValues.describe(this);
    }
}
