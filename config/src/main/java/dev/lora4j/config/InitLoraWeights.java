package dev.lora4j.config;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * PEFT's {@code init_lora_weights}: {@code true}, {@code false} or a strategy name. Unknown strings are kept (PEFT
 * only rejects them when a layer is created) so a file round-trips; {@link #kind()} is {@link Kind#UNKNOWN} then.
 */
public record InitLoraWeights(Kind kind, int niter, Object json) {

    /** The strategies PEFT knows. */
    public enum Kind {
        TRUE, FALSE, GAUSSIAN, PISSA, PISSA_NITER, OLORA, ORTHOGONAL, LOFTQ, EVA, CORDA, LORA_GA, MICA, UNKNOWN;

        /** Needs data, quantisation back-ends or calibration statistics that lora4j does not have yet. */
        public boolean supported() {
            return switch (this) {
                case TRUE, FALSE, GAUSSIAN, PISSA, PISSA_NITER, OLORA, ORTHOGONAL -> true;
                default -> false;
            };
        }

        /** Strategies that rewrite the base weight into a residual. */
        public boolean mutatesBase() {
            return this == PISSA || this == PISSA_NITER || this == OLORA || this == CORDA || this == LOFTQ
                    || this == LORA_GA;
        }
    }

    private static final Pattern PISSA_NITER = Pattern.compile("pissa_niter_(.*)");

    public static final InitLoraWeights DEFAULT = new InitLoraWeights(Kind.TRUE, 0, Boolean.TRUE);

    /**
     * {@code init_lora_weights: null} (Python's None). PEFT's layers only test it for truthiness, so it initialises
     * like {@code false}; the one difference is that {@code lora_bias} accepts only true and false. Written back as
     * null.
     */
    public static final InitLoraWeights NONE = new InitLoraWeights(Kind.FALSE, 0, null);

    public static InitLoraWeights of(boolean b) {
        return b ? DEFAULT : new InitLoraWeights(Kind.FALSE, 0, Boolean.FALSE);
    }

    /** Parses a string value exactly as PEFT spells the strategies (case-sensitive: "PISSA" is unknown). */
    public static InitLoraWeights of(String s) {
        Kind k = switch (s) {
            case "gaussian" -> Kind.GAUSSIAN;
            case "pissa" -> Kind.PISSA;
            case "olora" -> Kind.OLORA;
            case "orthogonal" -> Kind.ORTHOGONAL;
            case "loftq" -> Kind.LOFTQ;
            case "eva" -> Kind.EVA;
            case "corda" -> Kind.CORDA;
            case "lora_ga" -> Kind.LORA_GA;
            case "mica" -> Kind.MICA;
            default -> null;
        };
        if (k != null) {
            return new InitLoraWeights(k, 0, s);
        }
        Matcher m = PISSA_NITER.matcher(s);
        if (m.matches()) {
            try {
                int n = Integer.parseInt(m.group(1));
                if (n >= 0) {
                    return new InitLoraWeights(Kind.PISSA_NITER, n, s);
                }
            } catch (NumberFormatException e) {
                // falls through to UNKNOWN: validation names the value
            }
        }
        return new InitLoraWeights(Kind.UNKNOWN, 0, s);
    }

    /** The subspace iterations of {@code pissa_niter_K}. */
    public Optional<Integer> pissaIterations() {
        return kind == Kind.PISSA_NITER ? Optional.of(niter) : Optional.empty();
    }

    /** Whether this is {@code true} or {@code false} (not a strategy, not null). */
    public boolean isBoolean() {
        return json instanceof Boolean;
    }

    /** Python's spelling, as PEFT's messages show it: True, False, None or the strategy's name. */
    public String python() {
        if (json == null) {
            return "None";
        }
        return json instanceof Boolean b ? (b ? "True" : "False") : String.valueOf(json);
    }

    @Override
    public String toString() {
        return String.valueOf(json);
    }
}
