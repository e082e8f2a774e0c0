package dev.lora4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.lora4j.config.TaskType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataFileTest {
    private static final DataOptions CAUSAL = DataOptions.of(TaskType.CAUSAL_LM);
    private static final DataOptions CLS = DataOptions.of(TaskType.SEQ_CLS);

    @TempDir
    Path dir;

    private Path file(String name, String content) throws IOException {
        return Files.writeString(dir.resolve(name), content);
    }

    private DataException bad(String name, String content, DataOptions options) throws IOException {
        Path f = file(name, content);
        return assertThrows(DataException.class, () -> DataFile.read(f, options));
    }

    // ------------------------------------------------------------------ row shapes, JSONL

    @Test
    void jsonlText() throws IOException {
        DataFile d = DataFile.read(file("t.jsonl", "{\"text\": \"first\", \"id\": 7}\r\n\r\n"
                + "{\"text\": \"second\\nrow\"}"), CAUSAL);
        assertEquals(RowShape.TEXT, d.shape());
        assertEquals(List.of(new Row.Text(1, "first"), new Row.Text(3, "second\nrow")), d.rows());
    }

    @Test
    void jsonlPromptCompletion() throws IOException {
        DataFile d = DataFile.read(file("pc.jsonl", """
                {"prompt": "Q: 2+2?", "completion": " 4", "text": "ignored: prompt/completion wins"}
                """), CAUSAL);
        assertEquals(RowShape.PROMPT_COMPLETION, d.shape());
        assertEquals(List.of(new Row.PromptCompletion(1, "Q: 2+2?", " 4")), d.rows());
    }

    @Test
    void jsonlPretokenised() throws IOException {
        DataFile d = DataFile.read(file("ids.jsonl", """
                {"input_ids": [5, 6, 7]}
                {"input_ids": [8, 9], "labels": [-100, 9], "text": "kept beside"}
                """), CAUSAL);
        assertEquals(RowShape.TOKENS, d.shape());
        Row.Tokens a = (Row.Tokens) d.rows().get(0);
        Row.Tokens b = (Row.Tokens) d.rows().get(1);
        assertArrayEquals(new long[] {5, 6, 7}, a.inputIds());
        assertNull(a.labels());
        assertArrayEquals(new long[] {-100, 9}, b.labels());
        assertEquals(2, b.line());
    }

    @Test
    void jsonlLabelIdsAndNamesThroughTheList() throws IOException {
        DataFile d = DataFile.read(file("c.jsonl", """
                {"text": "win money", "label": "spam"}
                {"text": "see you", "label": 0}
                """), CLS.withLabels(List.of("ham", "spam")));
        assertEquals(List.of(new Row.Labeled(1, "win money", 1), new Row.Labeled(2, "see you", 0)), d.rows());
        assertEquals(List.of("ham", "spam"), d.labelNames());
    }

    @Test
    void labelNamesWithoutAListAreSortedNotInOrderOfAppearance() throws IOException {
        DataFile d = DataFile.read(file("c.jsonl", """
                {"text": "a", "label": "spam"}
                {"text": "b", "label": "ham"}
                {"text": "c", "label": "Zed"}
                {"text": "d", "label": "spam"}
                """), CLS);
        assertEquals(List.of("Zed", "ham", "spam"), d.labelNames());
        assertEquals(List.of(2, 1, 0, 2), d.rows().stream().map(r -> ((Row.Labeled) r).label()).toList());
    }

    @Test
    void labelIdsWithoutAListNameThemselves() throws IOException {
        DataFile d = DataFile.read(file("c.jsonl", """
                {"text": "a", "label": 2}
                {"text": "b", "label": 0}
                """), CLS);
        assertEquals(List.of("0", "1", "2"), d.labelNames());
    }

    @Test
    void configuredFieldNames() throws IOException {
        DataFile d = DataFile.read(file("c.jsonl", """
                {"sentence": "fine", "y": 1, "text": "not this", "label": 0}
                """), CLS.withFields("sentence", "y"));
        assertEquals(List.of(new Row.Labeled(1, "fine", 1)), d.rows());
    }

    // ------------------------------------------------------------------ row shapes, CSV

    @Test
    void csvTextWithQuotedMultiLineFieldsAndBlankLines() throws IOException {
        DataFile d = DataFile.read(file("t.csv", "\uFEFFid,text\r\n1,\"line one\nline \"\"two\"\", with comma\"\r\n"
                + "\n2,plain\n"), CAUSAL);
        assertEquals(List.of(new Row.Text(2, "line one\nline \"two\", with comma"), new Row.Text(5, "plain")),
                d.rows());
    }

    @Test
    void csvPromptCompletion() throws IOException {
        DataFile d = DataFile.read(file("pc.csv", "prompt,completion\n\"Q: hi\",\" hello\"\n"), CAUSAL);
        assertEquals(List.of(new Row.PromptCompletion(2, "Q: hi", " hello")), d.rows());
    }

    @Test
    void csvPretokenisedAsJsonListsOrSpaceSeparated() throws IOException {
        DataFile d = DataFile.read(file("ids.csv", "input_ids,labels\n\"[1, 2, 3]\",\"[-100, 2, 3]\"\n4 5,\n"),
                CAUSAL);
        Row.Tokens a = (Row.Tokens) d.rows().get(0);
        Row.Tokens b = (Row.Tokens) d.rows().get(1);
        assertArrayEquals(new long[] {1, 2, 3}, a.inputIds());
        assertArrayEquals(new long[] {-100, 2, 3}, a.labels());
        assertArrayEquals(new long[] {4, 5}, b.inputIds());
        assertNull(b.labels(), "an empty labels cell: the inputs are the labels");
    }

    @Test
    void csvLabelsAreNamesOrIntegerIds() throws IOException {
        DataFile named = DataFile.read(file("n.csv", "text,label\nwin,spam\nhi,ham\n"), CLS);
        assertEquals(List.of("ham", "spam"), named.labelNames());
        DataFile ids = DataFile.read(file("i.csv", "text,label\nwin,1\nhi,10\n"), CLS);
        assertEquals(11, ids.labelNames().size(), "ids, not names sorted as text");
        assertEquals(10, ((Row.Labeled) ids.rows().get(1)).label());
        DataFile listed = DataFile.read(file("l.csv", "text,label\nwin,1\nhi,0\n"), CLS.withLabels(List.of("0", "1")));
        assertEquals(List.of(1, 0), listed.rows().stream().map(r -> ((Row.Labeled) r).label()).toList());
    }

    // ------------------------------------------------------------------ bad rows

    @Test
    void unknownLabelNameWithFileAndLine() throws IOException {
        DataException e = bad("train.jsonl", """
                {"text": "a", "label": "ham"}
                {"text": "b", "label": "spm"}
                """, CLS.withLabels(List.of("ham", "spam")));
        assertEquals(dir.resolve("train.jsonl") + ":2: label \"spm\" is not one of [ham, spam]", e.getMessage());
    }

    @Test
    void everyBadRowIsReportedInLineOrder() throws IOException {
        DataException e = bad("train.jsonl", """
                {"text": "ok", "label": 0}
                {"text": "a", "label": 3}
                not json
                {"text": "", "label": 1}
                {"label": 1}
                {"text": 5, "label": 1}
                {"text": "x", "label": 1.5}
                [1, 2]
                {"text": "y", "label": null}
                """, CLS.withLabels(List.of("neg", "pos")));
        String f = dir.resolve("train.jsonl").toString();
        assertEquals(f + ": 8 bad rows\n"
                + "  " + f + ":2: label 3 is out of range: class ids are 0..1 for [neg, pos]\n"
                + "  " + f + ":3: invalid JSON: Unrecognized token 'not': was expecting (JSON String, Number,"
                + " Array, Object or token 'null', 'true' or 'false')\n"
                + "  " + f + ":4: \"text\" is empty\n"
                + "  " + f + ":5: missing \"text\"\n"
                + "  " + f + ":6: \"text\" must be a string, found 5\n"
                + "  " + f + ":7: \"label\" must be a class id (0, 1, ...) or a label name, found 1.5\n"
                + "  " + f + ":8: expected a JSON object {...}, found [1,2]\n"
                + "  " + f + ":9: \"label\" is null", e.getMessage());
        assertEquals(8, e.problems().size());
    }

    @Test
    void theMessageShowsTwentyAndCountsTheRest() throws IOException {
        String rows = IntStream.range(0, 25).mapToObj(i -> "{\"text\": \"\"}").collect(Collectors.joining("\n"));
        DataException e = bad("many.jsonl", rows, CAUSAL);
        String[] lines = e.getMessage().split("\n");
        assertEquals(dir.resolve("many.jsonl") + ": 25 bad rows", lines[0]);
        assertEquals(22, lines.length);
        assertEquals("  " + dir.resolve("many.jsonl") + ":20: \"text\" is empty", lines[20]);
        assertEquals("  and 5 more", lines[21]);
        assertEquals(25, e.problems().size());
    }

    @Test
    void mixedShapesInOneFile() throws IOException {
        DataException e = bad("mixed.jsonl", """
                {"text": "plain"}
                {"prompt": "Q", "completion": "A"}
                {"completion": "A"}
                {"other": 1}
                """, CAUSAL);
        String f = dir.resolve("mixed.jsonl").toString();
        assertEquals(f + ": 3 bad rows\n"
                + "  " + f + ":2: this row has \"prompt\" + \"completion\" but the rows before have \"text\" (line 1);"
                + " one file holds one kind of row\n"
                + "  " + f + ":3: this row has \"prompt\" + \"completion\" but the rows before have \"text\" (line 1);"
                + " one file holds one kind of row\n"
                + "  " + f + ":4: expected \"text\", \"prompt\" + \"completion\" or \"input_ids\" (+ \"labels\");"
                + " found [\"other\"]", e.getMessage());
    }

    @Test
    void badPretokenisedRows() throws IOException {
        DataException e = bad("ids.jsonl", """
                {"input_ids": [1, 2], "labels": [1]}
                {"input_ids": [1, -3]}
                {"input_ids": [1, "x"]}
                {"input_ids": [1, 2], "labels": [-1, 2]}
                {"input_ids": []}
                """, CAUSAL);
        String f = dir.resolve("ids.jsonl").toString();
        assertEquals(List.of(
                f + ":1: \"labels\" has 1 entries but \"input_ids\" has 2; they must match",
                f + ":2: \"input_ids\" has -3: token ids are 0 or more",
                f + ":3: \"input_ids\" must be a list of integers, found \"x\" at index 1",
                f + ":4: \"labels\" has -1: labels are token ids (0 or more) or -100 (ignored)",
                f + ":5: \"input_ids\" is empty"), e.problems());
    }

    @Test
    void tokenIdsOutsideTheModelsVocabularyAreBadRows() throws IOException {
        DataException e = bad("ids.jsonl", """
                {"input_ids": [1, 2, 100]}
                {"input_ids": [1, 101]}
                {"input_ids": [-1, 2]}
                {"input_ids": [1, 2], "labels": [-100, 101]}
                {"input_ids": [1, 2], "labels": [-100, 100]}
                """, CAUSAL.withModel(101, 0));
        String f = dir.resolve("ids.jsonl").toString();
        assertEquals(List.of(
                f + ":2: \"input_ids\" has 101: token ids are 0 to 100 (the model's vocab_size is 101)",
                f + ":3: \"input_ids\" has -1: token ids are 0 to 100 (the model's vocab_size is 101)",
                f + ":4: \"labels\" has 101: labels are token ids (0 to 100 (the model's vocab_size is 101)) or"
                        + " -100 (ignored)"), e.problems());
    }

    @Test
    void classIdsBeyondTheModelsClassifierAreBadRows() throws IOException {
        DataException e = bad("c.jsonl", """
                {"text": "a", "label": 1}
                {"text": "b", "label": 700}
                """, CLS.withModel(0, 2));
        assertEquals(dir.resolve("c.jsonl") + ":2: label 700 is out of range: the model's classifier has 2 classes,"
                + " ids 0 to 1", e.getMessage());
        assertEquals(List.of("0", "1"), DataFile.read(file("ok.jsonl", "{\"text\": \"a\", \"label\": 1}\n"),
                CLS.withModel(0, 2)).labelNames(), "ids below the classifier's size name themselves");
    }

    @Test
    void moreLabelNamesThanTheClassifierHasClassesIsAnError() throws IOException {
        String rows = """
                {"text": "a", "label": "x"}
                {"text": "b", "label": "y"}
                {"text": "c", "label": "z"}
                """;
        assertEquals(dir.resolve("c.jsonl") + ": the file's labels [x, y, z] are 3 classes but the model's classifier"
                + " has 2 (num_labels in its config.json)", bad("c.jsonl", rows, CLS.withModel(0, 2)).getMessage());
        assertEquals(dir.resolve("d.jsonl") + ": the labels [x, y, z] (data.labels) are 3 classes but the model's"
                + " classifier has 2 (num_labels in its config.json)", bad("d.jsonl", rows, CLS.withModel(0, 2)
                .withLabels(List.of("x", "y", "z"), "data.labels")).getMessage());
    }

    @Test
    void anUnknownNameSaysWhereTheKnownOnesComeFrom() throws IOException {
        DataException e = bad("c.jsonl", "{\"text\": \"a\", \"label\": \"eggs\"}\n",
                CLS.withLabels(List.of("ham", "spam"), "the adapter's labels, id2label in a/config.json"));
        assertEquals(dir.resolve("c.jsonl") + ":1: label \"eggs\" is not one of [ham, spam] (the adapter's labels,"
                + " id2label in a/config.json)", e.getMessage());
    }

    @Test
    void mixingIdsAndNamesNeedsTheList() throws IOException {
        DataException e = bad("c.jsonl", """
                {"text": "a", "label": "spam"}
                {"text": "b", "label": 1}
                """, CLS);
        assertEquals(dir.resolve("c.jsonl") + ":2: label 1 is a class id but the labels before are names (line 1);"
                + " give the list of label names to mix names and ids", e.getMessage());
    }

    @Test
    void badCsvRows() throws IOException {
        DataException e = bad("c.csv", "text,label\nok,1\n\"bad\"x,1\ntoo,many,cells\nshort\n,0\n", CLS);
        String f = dir.resolve("c.csv").toString();
        assertEquals(List.of(
                f + ":3: invalid CSV: Unexpected character ('x' (code 120)): Expected column separator character"
                        + " (',' (code 44)) or end-of-line",
                f + ":4: invalid CSV: Too many entries: expected at most 2 (value #2 (5 chars) \"cells\")",
                f + ":5: missing \"label\" (the row has 1 of 2 columns)",
                f + ":6: \"text\" is empty"), e.problems());
    }

    @Test
    void csvHeaderWithoutTheColumns() throws IOException {
        DataException e = bad("h.csv", "sentence,target\na,1\nb,0\n", CAUSAL);
        assertEquals(dir.resolve("h.csv") + ":1: the header has none of the columns \"text\", \"prompt\" +"
                + " \"completion\" or \"input_ids\" (+ \"labels\"); it has [sentence, target]", e.getMessage());
    }

    @Test
    void emptyFilesAreAnError() throws IOException {
        for (String name : new String[] {"empty.jsonl", "blank.jsonl", "empty.csv", "header-only.csv"}) {
            String content = switch (name) {
                case "blank.jsonl" -> "\n  \n\n";
                case "header-only.csv" -> "text,label\n";
                default -> "";
            };
            DataException e = bad(name, content, CLS);
            assertEquals(dir.resolve(name) + ": no rows (blank lines are skipped); expected rows of \"text\" +"
                    + " \"label\"", e.getMessage(), name);
        }
    }

    @Test
    void invalidUtf8IsReportedOnItsLine() throws IOException {
        Path f = dir.resolve("latin1.jsonl");
        Files.write(f, new byte[] {'{', '"', 't', 'e', 'x', 't', '"', ':', '"', 'a', '"', '}', '\n',
                '{', '"', 't', 'e', 'x', 't', '"', ':', '"', (byte) 0xE9, '"', '}', '\n'});
        DataException e = assertThrows(DataException.class, () -> DataFile.read(f, CAUSAL));
        assertEquals(1, e.problems().size());
        assertEquals(f + ":2: invalid JSON: Invalid UTF-8 middle byte 0x22", e.getMessage());
    }

    @Test
    void formatFromTheExtension() throws IOException {
        Path f = file("data.txt", "{\"text\": \"a\"}\n");
        DataException e = assertThrows(DataException.class, () -> DataFile.read(f, CAUSAL));
        assertEquals(f + ": cannot tell the format from the extension: name it .jsonl or .csv, or set the format"
                + " (jsonl, csv)", e.getMessage());
        assertEquals(1, DataFile.read(f, CAUSAL.withFormat(Format.JSONL)).rows().size());
    }

    @Test
    void missingFile() {
        Path f = dir.resolve("nope.jsonl");
        DataException e = assertThrows(DataException.class, () -> DataFile.read(f, CAUSAL));
        assertEquals(f + ": no such file", e.getMessage());
    }
}
