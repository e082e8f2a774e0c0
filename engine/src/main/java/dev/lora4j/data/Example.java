package dev.lora4j.data;

/**
 * One tokenised row, truncated to the data set's {@code max_length}. The arrays are never modified after
 * construction, and must not be by callers (they are shared, not copied, for memory).
 *
 * @param line       the line of the data file the row came from (a packed row: its first row's)
 * @param inputIds   token ids
 * @param labels     causal LM: per-token labels ({@code -100} = ignored), as long as {@code inputIds} (often the same
 *                   array); null for SEQ_CLS
 * @param tokenTypes token type ids, or null when all are 0
 * @param classLabel SEQ_CLS: the class id; -1 for causal LM
 * @param segments   a packed row ({@link Packing}): the lengths of the rows it holds, in order; null for a row of
 *                   its own
 */
public record Example(int line, long[] inputIds, long[] labels, long[] tokenTypes, int classLabel, int[] segments) {

    /** A row of its own (not packed). */
    public Example(int line, long[] inputIds, long[] labels, long[] tokenTypes, int classLabel) {
        this(line, inputIds, labels, tokenTypes, classLabel, null);
    }

    /** A causal-LM row whose labels are its inputs (every token is a target). */
    public static Example causal(int line, long[] inputIds) {
        return new Example(line, inputIds, inputIds, null, -1);
    }

    public int length() {
        return inputIds.length;
    }
}
