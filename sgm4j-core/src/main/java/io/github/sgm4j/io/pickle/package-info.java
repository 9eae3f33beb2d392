/**
 * A pickle reader that never executes code: {@link io.github.sgm4j.io.pickle.SafeUnpickler} runs the
 * pickle opcodes (protocols 0 to 5) as data, rebuilds only plain values and an allow-list of
 * globals supplied by a {@link io.github.sgm4j.io.pickle.PickleResolver}, and turns every other
 * global into an inert {@link io.github.sgm4j.io.pickle.PickleObject} that records its name and
 * arguments. Nothing here looks up a Java class or runs a function named by the file.
 */
package io.github.sgm4j.io.pickle;
