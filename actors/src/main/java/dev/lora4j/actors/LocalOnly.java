package dev.lora4j.actors;

import org.apache.pekko.actor.NoSerializationVerificationNeeded;

/**
 * A message that never leaves its JVM: it carries live objects (a model on a device, open data, a checkpoint in
 * memory) or talks to an actor that only ever has local callers. Pekko's {@code serialize-messages} check (on in the
 * cluster tests) skips these and verifies every other message, so a message that could cross nodes and is not
 * serializable fails a test instead of a cluster.
 */
public interface LocalOnly extends NoSerializationVerificationNeeded {}
