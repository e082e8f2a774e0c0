package dev.lora4j.data;

import java.util.List;
import java.util.Set;

/**
 * One record of a data file by field name, before its shape is known. JSONL and CSV differ only behind this
 * interface: what counts as present, and how a value of the wrong type is reported.
 */
interface Fields {
    /** The 1-based line the record starts on. */
    int line();

    /** The fields that have a value: JSON keys not null, CSV cells not empty. */
    Set<String> names();

    /** Why {@code name} has no value in this record, e.g. {@code missing "text"}. */
    String absent(String name);

    /** A present field as text. */
    String string(String name) throws BadRow;

    /** A present field as a list of integers (token ids or labels). */
    long[] longs(String name) throws BadRow;

    /** A present field as a class label: an id, or a name still to be looked up. */
    LabelValue label(String name) throws BadRow;

    /** A class label as written, before it is mapped to an id. */
    sealed interface LabelValue {
        record Id(long id) implements LabelValue {}

        record Name(String name) implements LabelValue {}
    }

    /** Receives a file's records in order, and first its header where the format has one. */
    interface Sink {
        default void header(int line, List<String> columns) {}

        void accept(Fields record);
    }

    /** A record that is not a usable row; the message says why, without the file and line. */
    final class BadRow extends Exception {
        private static final long serialVersionUID = 1L;

        BadRow(String message) {
            // thrown once per bad row: no stack trace needed, and none is paid for
            super(message, null, false, false);
        }
    }
}
