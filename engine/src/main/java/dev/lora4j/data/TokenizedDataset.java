package dev.lora4j.data;

import dev.lora4j.config.TaskType;
import dev.lora4j.model.Losses;
import dev.lora4j.model.ModelException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * A data file tokenised once into {@link Example}s, ready to batch. Build it through {@link #load} so that every
 * trial of a sweep shares one copy (see {@link DatasetCache}).
 *
 * <p>How each row shape becomes tokens (all truncated to {@code max_length}):
 * <ul>
 *   <li>text: the text with the tokenizer's special tokens; labels are the ids.
 *   <li>prompt/completion (as TRL): the prompt with special tokens, then the completion without, then EOS if the
 *       tokenizer has one; labels are {@code -100} on the prompt.
 *   <li>pre-tokenised: the ids as given; labels as given ({@code -100} kept) or the ids.
 *   <li>SEQ_CLS text: the text with special tokens; the class id beside it.
 * </ul>
 * Causal-LM rows keep their first {@code max_length} tokens (TRL's truncation). SEQ_CLS rows keep the special tokens
 * at both ends and cut the text between them, as {@code tokenizer(text, truncation=True, max_length=n)} does, so a
 * BERT classifier still sees {@code [CLS] ... [SEP]}.
 */
public final class TokenizedDataset {
    // texts per native call: large enough to keep the native side's threads busy, small enough to bound the garbage
    private static final int CHUNK = 1024;

    private final Path source;
    private final TaskType task;
    private final RowShape shape;
    private final List<Example> examples;
    private final List<String> labelNames;
    private final long padId;
    private final Stats stats;
    private final int maxLength;
    private final Tokenisation.Before before;

    /**
     * What tokenisation made of a file.
     *
     * @param rows               examples
     * @param tokens             tokens over all examples
     * @param truncatedRows      rows cut to {@code max_length}
     * @param longestRow         tokens in the longest example
     * @param targetTokens       labels the loss counts: causal LM, non-ignored next-token targets; SEQ_CLS, rows
     * @param rowsWithoutTargets causal-LM rows with no target left (e.g. a prompt that fills {@code max_length})
     * @param labelCounts        SEQ_CLS: rows per class name, in id order; empty for causal LM
     */
    public record Stats(int rows, long tokens, int truncatedRows, int longestRow, long targetTokens,
                        int rowsWithoutTargets, Map<String, Integer> labelCounts) {
        public Stats {
            labelCounts = Collections.unmodifiableMap(new LinkedHashMap<>(labelCounts));
        }
    }

    private TokenizedDataset(Path source, TaskType task, RowShape shape, List<Example> examples,
                             List<String> labelNames, long padId, int maxLength, Tokenisation.Before before) {
        this.source = source;
        this.task = task;
        this.shape = shape;
        this.examples = List.copyOf(examples);
        this.labelNames = List.copyOf(labelNames);
        this.padId = padId;
        this.maxLength = maxLength;
        this.before = before;
        this.stats = statsOf(before.truncated());
    }

    /** The data set for (file, tokenizer, options) from the process-wide cache, tokenised on first request. */
    public static TokenizedDataset load(Path file, Tokenizer tokenizer, DataOptions options) {
        return DatasetCache.shared().get(file, tokenizer, options);
    }

    /** Reads and tokenises {@code file} now, without the cache. */
    public static TokenizedDataset build(Path file, Tokenizer tokenizer, DataOptions options) {
        DataFile data = DataFile.read(file, options);
        Tokenisation t = new Tokenisation(tokenizer, options.maxLength());
        List<Example> examples = switch (data.shape()) {
            case TEXT -> t.texts(data.rows());
            case PROMPT_COMPLETION -> t.promptCompletions(data.rows());
            case TOKENS -> t.pretokenised(data.rows());
            case LABELED_TEXT -> t.classified(data.rows());
        };
        if (data.shape() != RowShape.TOKENS) {
            requireInVocabulary(file, examples, options.vocabSize(), tokenizer);
        }
        return new TokenizedDataset(file, options.task(), data.shape(), examples, data.labelNames(),
                tokenizer.padId(), options.maxLength(), t.before());
    }

    /**
     * Token ids the tokenizer gave must index the model's embedding too: a {@code tokenizer.json} with more tokens
     * than the model's {@code vocab_size} is a tokenizer of another model, found here rather than as an index error
     * in libtorch (a device-side assert on a GPU).
     */
    private static void requireInVocabulary(Path file, List<Example> examples, int vocabSize, Tokenizer tokenizer) {
        if (vocabSize <= 0) {
            return;
        }
        for (Example e : examples) {
            for (long id : e.inputIds()) {
                if (id < 0 || id >= vocabSize) {
                    throw new ModelException(file + ":" + e.line() + ": the tokenizer ("
                            + tokenizer.identity() + ") gave token id " + id + ", but the model's vocab_size is "
                            + vocabSize + " (ids 0 to " + (vocabSize - 1) + "): the tokenizer is not the model's");
                }
            }
        }
    }

    /**
     * Why no row has a token to predict, or empty when some row has one. A causal LM predicts each token from the
     * ones before it, so a row's first token is never a target, and {@code -100} labels count for nothing; SEQ_CLS
     * rows always have their class.
     *
     * @param maxLengthOption how the user sets max_length ({@code data.max_length}, {@code --max-length}), for advice
     * @return one sentence naming the cause: every label ignored, one-token rows, or the truncation to max_length
     */
    public Optional<String> whyNothingToPredict(String maxLengthOption) {
        if (stats.targetTokens() > 0) {
            return Optional.empty();
        }
        String why;
        if (before.targets() == 0 && before.longest() > 1) {
            why = "every label is -100 (ignored)" + (before.labelsKept() > 0 ? " after each row's first token"
                    + " (a causal LM never predicts a row's first token)" : "") + ", so there is nothing to predict";
        } else if (before.targets() == 0) {
            why = "every row is a single token, and a causal LM never predicts a row's first token";
        } else if (maxLength == 1) {
            why = "truncation to max_length 1 leaves nothing to predict: a row keeps only its first token, which a"
                    + " causal LM never predicts; raise " + maxLengthOption;
        } else if (shape == RowShape.PROMPT_COMPLETION && before.promptsFillingMaxLength() == examples.size()) {
            why = "truncation to max_length " + maxLength + " leaves nothing to predict: every prompt is "
                    + maxLength + " tokens or longer, so no completion token is left; raise " + maxLengthOption
                    + " or shorten the prompts";
        } else {
            why = "truncation to max_length " + maxLength + " leaves nothing to predict: every target token (a"
                    + " label that is not -100) lies beyond a row's first " + maxLength + " tokens; raise "
                    + maxLengthOption;
        }
        return Optional.of(source + ": no target token in any row: " + why);
    }

    /**
     * Throws when no row has a token to predict ({@link #whyNothingToPredict}): a loss over nothing is NaN in an
     * evaluation and 0 in training, never a number to report.
     *
     * @param maxLengthOption how the user sets max_length, for advice
     * @throws DataException naming the file and the cause
     */
    public void requireTargets(String maxLengthOption) {
        Optional<String> why = whyNothingToPredict(maxLengthOption);
        if (why.isPresent()) {
            throw new DataException(why.get());
        }
    }

    public Path source() {
        return source;
    }

    public TaskType task() {
        return task;
    }

    public RowShape shape() {
        return shape;
    }

    public int size() {
        return examples.size();
    }

    public Example example(int i) {
        return examples.get(i);
    }

    public List<Example> examples() {
        return examples;
    }

    /** SEQ_CLS: the class names in id order (the ones given, or those inferred from the file); empty otherwise. */
    public List<String> labelNames() {
        return labelNames;
    }

    public long padId() {
        return padId;
    }

    public Stats stats() {
        return stats;
    }

    /**
     * The rows packed into sequences of at most {@code capacity} tokens ({@link Packing}, TRL's {@code packing}):
     * a data set of packed rows, which batch like any other. Causal LM only.
     */
    public TokenizedDataset packed(int capacity) {
        if (task == TaskType.SEQ_CLS) {
            throw new IllegalStateException("packing is for causal-LM rows; a classifier reads one row per sequence");
        }
        return new TokenizedDataset(source, task, shape, Packing.bestFitDecreasing(examples, capacity), labelNames,
                padId, maxLength, before);
    }

    /** Tokens of each row, in row order. */
    public int[] lengths() {
        int[] out = new int[examples.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = examples.get(i).length();
        }
        return out;
    }

    /** The given rows, padded into one batch. */
    public Batch batch(int[] rows) {
        List<Example> picked = new ArrayList<>(rows.length);
        for (int r : rows) {
            picked.add(examples.get(r));
        }
        return Batch.of(rows, picked, padId);
    }

    private Stats statsOf(int truncated) {
        long tokens = 0;
        long targets = 0;
        int longest = 0;
        int withoutTargets = 0;
        int[] perClass = new int[labelNames.size()];
        for (Example e : examples) {
            tokens += e.length();
            longest = Math.max(longest, e.length());
            if (e.labels() != null) {
                long n = Losses.causalLmTokens(e.labels(), 1, e.length());
                targets += n;
                withoutTargets += n == 0 ? 1 : 0;
            } else {
                targets++;
                perClass[e.classLabel()]++;
            }
        }
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (int i = 0; i < perClass.length; i++) {
            counts.put(labelNames.get(i), perClass[i]);
        }
        return new Stats(examples.size(), tokens, truncated, longest, targets, withoutTargets, counts);
    }

    /** Turns rows into examples with one tokenizer and one {@code max_length}, counting truncated rows. */
    private static final class Tokenisation {
        /**
         * The rows before truncation, to tell why none has a target after it.
         *
         * @param truncated rows longer than max_length
         * @param targets next-token targets (labels not -100 after a row's first token)
         * @param labelsKept labels not -100 anywhere, first tokens included
         * @param longest tokens in the longest row
         * @param promptsFillingMaxLength prompt/completion rows whose prompt alone fills max_length
         */
        record Before(int truncated, long targets, long labelsKept, int longest, int promptsFillingMaxLength) {}

        private final Tokenizer tokenizer;
        private final int maxLength;
        int truncated;
        private long targets;
        private long labelsKept;
        private int longest;
        private int promptsFillingMaxLength;

        Tokenisation(Tokenizer tokenizer, int maxLength) {
            this.tokenizer = tokenizer;
            this.maxLength = maxLength;
        }

        Before before() {
            return new Before(truncated, targets, labelsKept, longest, promptsFillingMaxLength);
        }

        /** Counts a row's labels as they were before truncation. */
        private void countTargets(long[] labels) {
            longest = Math.max(longest, labels.length);
            targets += Losses.causalLmTokens(labels, 1, labels.length);
            for (long l : labels) {
                labelsKept += l != Losses.IGNORE ? 1 : 0;
            }
        }

        List<Example> texts(List<Row> rows) {
            List<Example> out = new ArrayList<>(rows.size());
            List<Row.Text> texts = cast(rows);
            encodeInChunks(texts, Row.Text::text, true, (row, tokens) -> {
                countIfLong(tokens.length());
                countTargets(tokens.ids());
                long[] ids = head(tokens.ids());
                out.add(new Example(row.line(), ids, ids, nonZero(head(tokens.typeIds())), -1));
            });
            return out;
        }

        List<Example> promptCompletions(List<Row> rows) {
            List<Row.PromptCompletion> pcs = cast(rows);
            List<Tokenizer.Tokens> prompts = new ArrayList<>(pcs.size());
            encodeInChunks(pcs, Row.PromptCompletion::prompt, true, (row, tokens) -> prompts.add(tokens));
            List<Example> out = new ArrayList<>(pcs.size());
            long eos = tokenizer.eosId().orElse(-1);
            int[] next = {0};
            encodeInChunks(pcs, Row.PromptCompletion::completion, false, (row, completion) -> {
                Tokenizer.Tokens prompt = prompts.get(next[0]++);
                int p = prompt.length();
                int c = completion.length();
                int n = p + c + (eos >= 0 ? 1 : 0);
                countIfLong(n);
                long[] ids = new long[n];
                long[] labels = new long[n];
                long[] types = new long[n];
                System.arraycopy(prompt.ids(), 0, ids, 0, p);
                System.arraycopy(prompt.typeIds(), 0, types, 0, p);
                Arrays.fill(labels, 0, p, Losses.IGNORE);
                System.arraycopy(completion.ids(), 0, ids, p, c);
                System.arraycopy(completion.ids(), 0, labels, p, c);
                System.arraycopy(completion.typeIds(), 0, types, p, c);
                if (eos >= 0) {
                    ids[n - 1] = eos;
                    labels[n - 1] = eos;
                }
                countTargets(labels);
                promptsFillingMaxLength += p >= maxLength ? 1 : 0;
                out.add(new Example(row.line(), head(ids), head(labels), nonZero(head(types)), -1));
            });
            return out;
        }

        List<Example> pretokenised(List<Row> rows) {
            List<Example> out = new ArrayList<>(rows.size());
            for (Row.Tokens row : this.<Row.Tokens>cast(rows)) {
                countIfLong(row.inputIds().length);
                countTargets(row.labels() == null ? row.inputIds() : row.labels());
                long[] ids = head(row.inputIds());
                long[] labels = row.labels() == null ? ids : head(row.labels());
                out.add(new Example(row.line(), ids, labels, null, -1));
            }
            return out;
        }

        List<Example> classified(List<Row> rows) {
            List<Example> out = new ArrayList<>(rows.size());
            List<Row.Labeled> labeled = cast(rows);
            encodeInChunks(labeled, Row.Labeled::text, true, (row, tokens) -> {
                countIfLong(tokens.length());
                out.add(new Example(row.line(), keepSpecials(tokens.ids(), tokens), null,
                        nonZero(keepSpecials(tokens.typeIds(), tokens)), row.label()));
            });
            return out;
        }

        @SuppressWarnings("unchecked")
        private <R extends Row> List<R> cast(List<Row> rows) {
            return (List<R>) rows;
        }

        private <R extends Row> void encodeInChunks(List<R> rows, Function<R, String> text,
                                                    boolean specialTokens,
                                                    BiConsumer<R, Tokenizer.Tokens> sink) {
            for (int from = 0; from < rows.size(); from += CHUNK) {
                List<R> chunk = rows.subList(from, Math.min(rows.size(), from + CHUNK));
                List<Tokenizer.Tokens> encoded = tokenizer.encodeAll(chunk.stream().map(text).toList(),
                        specialTokens);
                for (int i = 0; i < chunk.size(); i++) {
                    sink.accept(chunk.get(i), encoded.get(i));
                }
            }
        }

        private void countIfLong(int length) {
            if (length > maxLength) {
                truncated++;
            }
        }

        /** The first {@code max_length} entries. */
        private long[] head(long[] a) {
            return a.length <= maxLength ? a : Arrays.copyOf(a, maxLength);
        }

        /** The special tokens at both ends kept, the text between them cut to fit {@code max_length}. */
        private long[] keepSpecials(long[] a, Tokenizer.Tokens tokens) {
            if (a.length <= maxLength) {
                return a;
            }
            int prefix = tokens.specialPrefix();
            int suffix = Math.min(tokens.specialSuffix(), Math.max(0, maxLength - prefix));
            int keep = Math.max(0, maxLength - prefix - suffix);
            long[] out = new long[Math.min(maxLength, a.length)];
            int head = Math.min(prefix + keep, out.length);
            System.arraycopy(a, 0, out, 0, head);
            System.arraycopy(a, a.length - suffix, out, head, out.length - head);
            return out;
        }

        private static long[] nonZero(long[] types) {
            for (long t : types) {
                if (t != 0) {
                    return types;
                }
            }
            return null;
        }
    }
}
