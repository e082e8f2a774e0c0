/**
 * Training data from files to padded batches.
 *
 * <ol>
 *   <li>{@link dev.lora4j.data.DataFile} reads a JSONL or CSV file into checked {@link dev.lora4j.data.Row}s of one
 *       {@link dev.lora4j.data.RowShape}, rejecting the file with every bad row's line if any row is bad.
 *   <li>{@link dev.lora4j.data.Tokenizer} wraps a Hugging Face {@code tokenizer.json} (DJL's native tokenizers,
 *       offline), with lora4j, not the file, deciding truncation and padding.
 *   <li>{@link dev.lora4j.data.TokenizedDataset} tokenises a file once into {@link dev.lora4j.data.Example}s;
 *       {@link dev.lora4j.data.DatasetCache} shares it across every trial of a sweep in the JVM.
 *   <li>{@link dev.lora4j.data.Batches} cuts it into {@link dev.lora4j.data.Batch}es by a
 *       {@link dev.lora4j.data.BatchPlan} (seeded shuffle per epoch, last partial batch kept, padding per batch),
 *       with a {@link dev.lora4j.data.Cursor} to resume exactly.
 * </ol>
 *
 * <p>Memory: a file's rows are held as strings only while it is tokenised; a data set keeps one {@code long} per token
 * (two for causal-LM rows whose labels differ from their inputs), and a batch's arrays live as long as its step.
 */
package dev.lora4j.data;
