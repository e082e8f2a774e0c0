package dev.lora4j.model;

/**
 * A decoder's sizes as its family's config gives them (GPT-2's {@code n_embd}, Gemma's default {@code head_dim} of
 * 256 included): what the memory estimate sizes activations with.
 *
 * @param hidden       the residual stream's width
 * @param intermediate the MLP's width
 * @param layers       the decoder layers
 * @param heads        the query heads
 * @param headDim      the features of a head ({@code heads x headDim} need not be {@code hidden})
 */
public record DecoderShape(int hidden, int intermediate, int layers, int heads, int headDim) {}
