package io.github.sgm4j.io.pickle;

/** A malformed, unsupported or too costly pickle; the message names the byte offset and the opcode. */
public class PickleException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** Byte offset of the opcode at fault, or -1 when not known. */
    private final long offset;

    /** The opcode at fault (0..255), or -1 when not known. */
    private final int opcode;

    /**
     * Creates the exception without a position (the unpickler adds it).
     *
     * @param message the description
     */
    public PickleException(String message) {
        this(message, -1, -1, null);
    }

    /**
     * Creates the exception.
     *
     * @param message the description (without the position)
     * @param offset byte offset of the opcode at fault, or -1
     * @param opcode the opcode at fault, or -1
     * @param cause the underlying failure, or null
     */
    public PickleException(String message, long offset, int opcode, Throwable cause) {
        super(position(offset, opcode) + message, cause);
        this.offset = offset;
        this.opcode = opcode;
    }

    /**
     * Byte offset, in the pickle, of the opcode at fault.
     *
     * @return the offset, or -1 when not known
     */
    public long offset() {
        return offset;
    }

    /**
     * The opcode at fault.
     *
     * @return the opcode byte (0..255), or -1 when not known
     */
    public int opcode() {
        return opcode;
    }

    private static String position(long offset, int opcode) {
        if (offset < 0) {
            return "";
        }
        return "at byte " + offset + (opcode < 0 ? "" : " (opcode " + Opcodes.describe(opcode) + ")") + ": ";
    }
}
