/**
 * Text conditioning: CLIP byte-pair tokenizers (HuggingFace {@code CLIPTokenizer} and open_clip
 * {@code tokenize} behaviour) and the frozen text encoders of Stable Diffusion 1.x, 2.x and SDXL
 * under their original config targets and checkpoint keys.
 */
package io.github.sgm4j.modules.encoders.text;
