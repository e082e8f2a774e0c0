package dev.lora4j.data;

/**
 * One usable row of a data file, as read, before tokenisation. Which kind a file's rows are is decided by the keys
 * (JSONL) or columns (CSV) present: see {@link RowShape}.
 */
public sealed interface Row {
    /** The 1-based line the row starts on, for messages. */
    int line();

    /** Causal-LM text: the loss covers every token. */
    record Text(int line, String text) implements Row {}

    /** Causal-LM prompt and completion: the loss covers the completion (and the EOS after it) only. */
    record PromptCompletion(int line, String prompt, String completion) implements Row {}

    /**
     * Pre-tokenised causal-LM row. {@code labels} is null when the file gave none (the inputs are the labels), else
     * as long as {@code inputIds} with {@code -100} where the loss ignores a token. The arrays are not copied; nothing
     * modifies them.
     */
    record Tokens(int line, long[] inputIds, long[] labels) implements Row {}

    /** Sequence-classification text with its class id (an index into the data set's label names). */
    record Labeled(int line, String text, int label) implements Row {}
}
