package dev.lora4j.data;

/**
 * One tokenised row, truncated to the data set's {@code max_length}. The arrays are never modified after
 * construction, and must not be by callers (they are shared, not copied, for memory).
 *
 * @param line       the line of the data file the row came from
 * @param inputIds   token ids
 * @param labels     causal LM: per-token labels ({@code -100} = ignored), as long as {@code inputIds} (often the same
 *                   array); null for SEQ_CLS
 * @param tokenTypes token type ids, or null when all are 0
 * @param classLabel SEQ_CLS: the class id; -1 for causal LM
 */
public record Example(int line, long[] inputIds, long[] labels, long[] tokenTypes, int classLabel) {

    /** A causal-LM row whose labels are its inputs (every token is a target). */
    public static Example causal(int line, long[] inputIds) {
        return new Example(line, inputIds, inputIds, null, -1);
    }

    public int length() {
        return inputIds.length;
    }
}
