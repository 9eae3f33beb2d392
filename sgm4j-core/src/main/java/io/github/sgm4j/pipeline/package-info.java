/**
 * Prompt-to-image pipelines over released Stable Diffusion checkpoints, like sgm's {@code
 * sgm/inference/api.py} {@code SamplingPipeline} and ldm's {@code scripts/txt2img.py}: {@link
 * io.github.sgm4j.pipeline.SamplingPipeline} (txt2img, img2img, SDXL base then refiner), {@link
 * io.github.sgm4j.pipeline.SingleFileCheckpoint} (single-file SD 1.x / 2.x / SDXL checkpoints into the
 * original inference configs) and {@link io.github.sgm4j.pipeline.PngOutput} (PNGs with the
 * generation parameters in a text chunk).
 */
package io.github.sgm4j.pipeline;
