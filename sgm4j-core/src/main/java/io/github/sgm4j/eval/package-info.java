/**
 * Evaluation of trained models: {@link io.github.sgm4j.eval.DigitClassifier}, an independent MNIST
 * digit classifier that judges whether class-conditional samples show the digit asked for.
 *
 * <p>This package sits at the top of sgm4j-core: it may use nn, engine, io, noise, optim,
 * train.data and models, and nothing in sgm4j-core depends on it (only the command-line tool
 * does).
 */
package io.github.sgm4j.eval;
