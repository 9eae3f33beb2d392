/**
 * Optimizers and learning-rate schedulers: {@code torch.optim.AdamW} (torch-exact step) and sgm/ldm 
 * LambdaLR multipliers ({@code sgm.lr_scheduler}, {@code ldm.lr_scheduler}).
 */
package io.github.sgm4j.optim;
