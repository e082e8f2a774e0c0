package dev.lora4j.actors;

/**
 * A message that may travel between the nodes of a cluster (a coordinator and its workers). It is serialized with
 * Jackson CBOR (bound in {@code reference.conf}), so it holds plain values, actor refs and stream refs only: never a
 * tensor, an open file or a path that means something on one machine alone. Large payloads (checkpoints, adapters,
 * data files) travel as {@link Transfers} stream refs beside such messages.
 */
public interface CrossNode {}
