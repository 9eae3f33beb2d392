package io.github.sgm4j.io.pickle;

/**
 * The format-specific part of a {@link SafeUnpickler}: which globals may be called (and what they
 * build), and what persistent ids refer to. Everything it does not allow becomes a {@link
 * PickleObject}.
 */
public interface PickleResolver {

    /**
     * Whether calling {@code callee} is allowed (then {@link #call} builds the value).
     *
     * @param callee the global
     * @return true for an allow-listed global
     */
    boolean allows(PickleGlobal callee);

    /**
     * Builds the value of an allowed call.
     *
     * @param callee a global for which {@link #allows} returned true
     * @param args the positional arguments
     * @return the value
     * @throws PickleException if the arguments are not what the global takes
     */
    Object call(PickleGlobal callee, PickleTuple args);

    /**
     * Resolves a persistent id (PERSID / BINPERSID).
     *
     * @param pid the id, as unpickled
     * @return the referenced object
     * @throws PickleException if the id is malformed or refers to nothing
     */
    Object persistentLoad(Object pid);
}
