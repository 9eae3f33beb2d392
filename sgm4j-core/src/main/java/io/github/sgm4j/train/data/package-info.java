/** Training data: the MNIST IDX reader with deterministic, resumable batching. */
package io.github.sgm4j.train.data;
