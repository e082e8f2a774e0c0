package dev.lora4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.lora4j.runtime.GradMode;
import dev.lora4j.runtime.Ops;
import dev.lora4j.runtime.Torch;
import org.junit.jupiter.api.Test;

/**
 * Which token a decoder classifier reads (transformers' {@code *ForSequenceClassification}: the rightmost token that
 * is not {@code pad_token_id}), restricted to the tokens the attention mask keeps.
 */
class LastTokenPoolingTest {
    private static final int PAD = 7;

    /** Logits (B, T, 1) whose value is the position, so the pooled logit says which token was read. */
    private static float[] pooled(Integer padTokenId, long[] ids, long[] mask) {
        try (GradMode g = GradMode.off(); Ops ops = Ops.scope(Torch.newManager(ai.djl.Device.cpu()))) {
            int b = 3;
            int t = 5;
            float[] positions = new float[b * t];
            for (int i = 0; i < positions.length; i++) {
                positions[i] = i % t;
            }
            NDArray logits = ops.floats(positions, new Shape(b, t, 1));
            ModelInput in = new ModelInput(ops.longs(ids, new Shape(b, t)),
                    mask == null ? null : ops.longs(mask, new Shape(b, t)), null);
            return Decoder.lastTokenLogits(ops, logits, in, padTokenId).toFloatArray();
        }
    }

    @Test
    void readsTheRightmostTokenThatIsNotThePadIdAmongTheKeptOnes() {
        long[] ids = {
            3, 4, 5, PAD, PAD, // padded with the pad id
            3, 4, PAD, 1, 1, // a real pad token inside, then padding with another id (the tokenizer's)
            3, 4, 5, 6, PAD, // ends in the pad token, kept by the mask: transformers reads the token before
        };
        long[] mask = {1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1};
        assertArrayEquals(new float[] {2, 1, 3}, pooled(PAD, ids, mask), 0f);
        // transformers' rule alone (no mask): the second row's padding would be read as real tokens
        assertArrayEquals(new float[] {2, 4, 3}, pooled(PAD, ids, null), 0f);
        // no pad_token_id: the last token the mask keeps
        assertArrayEquals(new float[] {2, 2, 4}, pooled(null, ids, mask), 0f);
        assertArrayEquals(new float[] {4, 4, 4}, pooled(null, ids, null), 0f);
    }
}
