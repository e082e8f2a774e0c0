/**
 * Internal: the actors a sweep runs on (trial sessions, device lanes and their pool, the model injector, the data
 * loader, the validator) and their protocols. Apps use {@code dev.lora4j.api}; these classes are public only because
 * the pipeline module composes them, and may change in any release.
 */
package dev.lora4j.actors;
