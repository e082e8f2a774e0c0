package dev.lora4j.data;

import dev.lora4j.model.Losses;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.TreeMap;

/**
 * TRL's {@code packing=True} with its default strategy, best-fit decreasing ({@code trl.data_utils._pack_bfd}):
 * rows (already truncated to {@code max_length}) are taken longest first and each is put whole into the packed
 * sequence with the least room left that still fits it (among equals, the one that reached that room first), or into
 * a new sequence; sequences keep the order they were opened in, rows within a sequence the order they were put in.
 * A packed row records where each of its rows starts, so that positions restart at 0 and attention stays inside each
 * row, and its first token is not a target (TRL's collator sets the label to -100 where {@code position_ids == 0}):
 * no row is predicted from another, and the loss is that of the rows trained separately.
 */
public final class Packing {
    private Packing() {}

    /** The packed rows of {@code rows}, each at most {@code capacity} tokens. */
    public static List<Example> bestFitDecreasing(List<Example> rows, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("a packed sequence holds at least one token, got " + capacity);
        }
        Integer[] byLength = new Integer[rows.size()];
        for (int i = 0; i < byLength.length; i++) {
            byLength[i] = i;
        }
        // longest first; a stable sort keeps equal lengths in file order, as pyarrow's sort does
        Arrays.sort(byLength, Comparator.comparingInt((Integer i) -> rows.get(i).length()).reversed());
        List<List<Integer>> bins = new ArrayList<>();
        TreeMap<Integer, ArrayDeque<List<Integer>>> byRoom = new TreeMap<>();
        for (int i : byLength) {
            int length = Math.min(rows.get(i).length(), capacity);
            if (length == 0) {
                continue; // TRL drops empty rows
            }
            var fit = byRoom.ceilingEntry(length);
            List<Integer> bin;
            int room;
            if (fit != null) {
                room = fit.getKey();
                bin = fit.getValue().pollFirst();
                if (fit.getValue().isEmpty()) {
                    byRoom.remove(room);
                }
            } else {
                bin = new ArrayList<>();
                bins.add(bin);
                room = capacity;
            }
            bin.add(i);
            room -= length;
            if (room > 0) {
                byRoom.computeIfAbsent(room, r -> new ArrayDeque<>()).addLast(bin);
            }
        }
        List<Example> packed = new ArrayList<>(bins.size());
        for (List<Integer> bin : bins) {
            packed.add(pack(rows, bin, capacity));
        }
        return packed;
    }

    private static Example pack(List<Example> rows, List<Integer> members, int capacity) {
        int total = 0;
        for (int i : members) {
            total += Math.min(rows.get(i).length(), capacity);
        }
        long[] ids = new long[total];
        long[] labels = new long[total];
        int[] segments = new int[members.size()];
        int at = 0;
        for (int s = 0; s < members.size(); s++) {
            Example e = rows.get(members.get(s));
            int n = Math.min(e.length(), capacity);
            System.arraycopy(e.inputIds(), 0, ids, at, n);
            System.arraycopy(e.labels(), 0, labels, at, n);
            // a row's first token is predicted by nothing (position 0), as when it is trained alone
            labels[at] = Losses.IGNORE;
            segments[s] = n;
            at += n;
        }
        return new Example(rows.get(members.get(0)).line(), ids, labels, null, -1, segments);
    }
}
