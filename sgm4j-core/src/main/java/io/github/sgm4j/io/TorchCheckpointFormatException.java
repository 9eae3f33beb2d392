package io.github.sgm4j.io;

/**
 * A malformed, unsupported or refused PyTorch checkpoint ({@code .ckpt} / {@code .pth}); the message
 * names the file and, where relevant, the archive entry, the byte offset and opcode in {@code
 * data.pkl}, the state-dict key or the refused global.
 */
public class TorchCheckpointFormatException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message the description, naming the file
     */
    public TorchCheckpointFormatException(String message) {
        super(message);
    }

    /**
     * Creates the exception with a cause.
     *
     * @param message the description, naming the file
     * @param cause the underlying failure
     */
    public TorchCheckpointFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
