package io.github.sgm4j.modules.encoders;

import ai.djl.ndarray.NDArray;
import io.github.sgm4j.nn.Module;
import java.util.List;

/**
 * Port of {@code sgm.modules.encoders.modules.AbstractEmbModel}: an embedder of a {@link
 * GeneralConditioner} with the per-embedder settings of the config entry ({@code is_trainable},
 * {@code ucg_rate}, {@code input_key} or {@code input_keys}).
 */
public abstract class AbstractEmbModel extends Module {

    private boolean trainable;
    private double ucgRate;
    private String inputKey;
    private List<String> inputKeys;
    private String legacyUcgValue;

    /**
     * {@code is_trainable}.
     *
     * @return whether the embedder is trained
     */
    public boolean isTrainable() {
        return trainable;
    }

    /**
     * Sets {@code is_trainable}.
     *
     * @param trainable whether the embedder is trained ({@code is_trainable})
     */
    public void setTrainable(boolean trainable) {
        this.trainable = trainable;
    }

    /**
     * {@code ucg_rate}: probability of dropping this embedding (zeroing it) per sample.
     *
     * @return the unconditional-guidance dropout rate
     */
    public double getUcgRate() {
        return ucgRate;
    }

    /**
     * Sets {@code ucg_rate}.
     *
     * @param ucgRate the probability in [0, 1] of dropping the embedding for classifier-free guidance
     *     training
     * @throws IllegalArgumentException outside [0, 1]
     */
    public void setUcgRate(double ucgRate) {
        if (!(ucgRate >= 0.0 && ucgRate <= 1.0)) {
            throw new IllegalArgumentException("ucg_rate must be in [0, 1], got " + ucgRate);
        }
        this.ucgRate = ucgRate;
    }

    /**
     * {@code input_key}, or null when the embedder reads several keys.
     *
     * @return the single input key, or null
     */
    public String getInputKey() {
        return inputKey;
    }

    /**
     * Sets {@code input_key}.
     *
     * @param inputKey the batch key this embedder reads
     */
    public void setInputKey(String inputKey) {
        this.inputKey = inputKey;
    }

    /**
     * {@code input_keys}, or null when the embedder reads one key.
     *
     * @return the input keys, or null
     */
    public List<String> getInputKeys() {
        return inputKeys;
    }

    /**
     * Sets {@code input_keys}.
     *
     * @param inputKeys the batch keys this embedder reads, in argument order
     */
    public void setInputKeys(List<String> inputKeys) {
        this.inputKeys = inputKeys == null ? null : List.copyOf(inputKeys);
    }

    /**
     * {@code legacy_ucg_value}: the prompt that replaces a batch entry with probability {@code
     * ucg_rate} (instead of zeroing the embedding), or null.
     *
     * @return the replacement value, or null
     */
    public String getLegacyUcgValue() {
        return legacyUcgValue;
    }

    /**
     * Sets {@code legacy_ucg_value}.
     *
     * @param legacyUcgValue the replacement prompt (usually the empty string), or null
     */
    public void setLegacyUcgValue(String legacyUcgValue) {
        this.legacyUcgValue = legacyUcgValue;
    }

    /**
     * The embedder on batch values of any kind: the reference's {@code embedder(*values)}, whose
     * result may be one tensor or a tuple. By default every value must be an {@link NDArray} and
     * the result is {@link #forward}'s single embedding; text embedders take lists of prompts and
     * may return two embeddings.
     *
     * @param inputs the batch values of the input key(s), in order
     * @return the embeddings in the reference's order, new arrays the caller closes
     * @throws IllegalArgumentException if a value is not an {@link NDArray}, naming its type
     */
    public List<NDArray> embed(List<?> inputs) {
        NDArray[] arrays = new NDArray[inputs.size()];
        for (int i = 0; i < arrays.length; i++) {
            if (!(inputs.get(i) instanceof NDArray a)) {
                Object v = inputs.get(i);
                throw new IllegalArgumentException(getClass().getSimpleName() + " takes arrays, got "
                        + (v == null ? "null" : v.getClass().getSimpleName()) + " as input #" + i);
            }
            arrays[i] = a;
        }
        return List.of(forward(arrays));
    }

    /**
     * The embedder's forward over the batch values of its key(s), in order.
     *
     * @param inputs the embedder inputs, one per input key
     * @return one embedding [B, D] (vector), [B, T, D] (crossattn) or [B, C, H, W] (concat)
     */
    public abstract NDArray forward(NDArray... inputs);

    /**
     * Checks that exactly {@code n} inputs were given.
     *
     * @param inputs the inputs passed to {@link #forward}
     * @param n the expected number of inputs
     */
    protected void expectInputs(NDArray[] inputs, int n) {
        if (inputs.length != n) {
            throw new IllegalArgumentException(getClass().getSimpleName() + " takes " + n + " input(s), got "
                    + inputs.length);
        }
    }
}
