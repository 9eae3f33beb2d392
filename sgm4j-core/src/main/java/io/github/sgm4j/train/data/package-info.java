/**
 * Training data behind one interface: a {@link io.github.sgm4j.train.data.Dataset} (image folders,
 * webdataset-style tar shards, MNIST IDX files) chosen by a config's {@code data:} section through
 * {@link io.github.sgm4j.train.data.Datasets}, read by a {@link io.github.sgm4j.train.data.Loader}
 * (seeded per-epoch shuffling, per-sample random streams, background decoding with an ordered,
 * bounded prefetch queue, exact resume positions, skipping of bad files) into {@link
 * io.github.sgm4j.train.data.Batch}es with sgm's batch keys.
 */
package io.github.sgm4j.train.data;
