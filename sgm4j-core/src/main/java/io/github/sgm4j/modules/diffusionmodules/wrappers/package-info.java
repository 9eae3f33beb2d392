/**
 * Network wrappers ({@code sgm.modules.diffusionmodules.wrappers}): {@code OpenAIWrapper} passes the conditioning to the UNet.
 */
package io.github.sgm4j.modules.diffusionmodules.wrappers;
