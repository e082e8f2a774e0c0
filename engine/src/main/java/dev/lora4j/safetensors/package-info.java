/**
 * Reading and writing Hugging Face safetensors files (https://github.com/huggingface/safetensors).
 *
 * <p>Memory: {@link dev.lora4j.safetensors.SafetensorsFile} reads only the JSON header onto the heap and maps each
 * tensor's byte range with {@link java.nio.channels.FileChannel#map} when it is asked for, so a checkpoint far larger
 * than the Java heap can be opened and loaded tensor by tensor; the operating system pages the bytes in and out.
 * {@link dev.lora4j.safetensors.SafetensorsWriter} streams the header and then one tensor at a time into a temporary
 * file that replaces the target only once it is complete and on disk.
 */
package dev.lora4j.safetensors;
