package dev.lora4j.sweep;

import java.util.Objects;

/**
 * One entry of a sweep's {@code parameters}.
 *
 * @param name the key as the file wrote it ({@code r}, {@code lora.r}), used in error paths and trial names
 * @param field the field it sets
 */
public record Parameter(String name, FieldRef field, Domain domain) {
    public Parameter {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(field, "field");
        Objects.requireNonNull(domain, "domain");
    }

    /**
     * Whether the value may change from trial to trial: not for a constant or a one-value list. A tie counts as
     * varying, since the field it follows usually does.
     */
    public boolean varies() {
        if (domain instanceof Domain.Constant) {
            return false;
        }
        return !(domain instanceof Domain.Values v) || v.values().size() > 1;
    }
}
