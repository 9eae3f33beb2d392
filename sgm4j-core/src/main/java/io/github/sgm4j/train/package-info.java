/** Training: the torch-exact AdamW, sgm's learning-rate schedulers, the trainer and checkpoints. */
package io.github.sgm4j.train;
