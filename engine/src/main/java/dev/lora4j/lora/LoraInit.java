package dev.lora4j.lora;

import dev.lora4j.config.InitLoraWeights;
import java.util.SplittableRandom;

/**
 * PEFT's initialisation strategies (spec 5.6) on plain arrays: each gives A (r x in), B (out x r) and, for the
 * strategies that rewrite the base, the residual weight. Everything is seeded per layer, so the same seed gives the
 * same adapter whatever else runs in the JVM.
 */
final class LoraInit {
    private LoraInit() {}

    /** A, B (row-major) and the new base weight in (out, in) layout, or null if the base stays. */
    record Init(float[] a, float[] b, float[] bBias, double[][] residual) {}

    static Init linear(InitLoraWeights init, int r, int in, int out, double scaling, boolean loraBias,
            double[][] weightOutIn, boolean fanInFanOut, SplittableRandom rng) {
        return switch (init.kind()) {
            case TRUE -> new Init(uniform(rng, r * in, 1 / Math.sqrt(in)), new float[out * r],
                    loraBias ? new float[out] : null, null);
            case FALSE -> new Init(uniform(rng, r * in, 1 / Math.sqrt(in)), uniform(rng, out * r, 1 / Math.sqrt(r)),
                    loraBias ? uniform(rng, out, 1 / Math.sqrt(r)) : null, null);
            case GAUSSIAN -> new Init(gaussian(rng, r * in, 1.0 / r), new float[out * r], null, null);
            case ORTHOGONAL -> orthogonal(r, in, out, rng);
            case PISSA, PISSA_NITER -> pissa(weightOutIn, r, scaling,
                    init.kind() == InitLoraWeights.Kind.PISSA ? -1 : init.niter(), rng.nextLong());
            case OLORA -> olora(weightOutIn, r, scaling, fanInFanOut);
            default -> throw new LoraException("Unknown initialization init_lora_weights='" + init.json() + "'");
        };
    }

    /** Embedding layers: A = 0, B ~ N(0, 1) (roles swapped vs Linear); {@code false}: both N(0, 1). */
    static Init embedding(InitLoraWeights init, int r, int num, int dim, SplittableRandom rng) {
        float[] a = init.kind() == InitLoraWeights.Kind.FALSE ? gaussian(rng, r * num, 1.0) : new float[r * num];
        return new Init(a, gaussian(rng, dim * r, 1.0), null, null);
    }

    private static Init orthogonal(int r, int in, int out, SplittableRandom rng) {
        if (r % 2 != 0) {
            throw new LoraException("Orthogonal initialization requires the LoRA rank to be even, got " + r
                    + " instead.");
        }
        double[][] x = new double[r][r];
        for (double[] row : x) {
            for (int j = 0; j < r; j++) {
                row[j] = rng.nextGaussian();
            }
        }
        double[][] q = Linalg.qr(x, r).q();
        int half = r / 2;
        double[][] odd = new double[half][];
        double[][] even = new double[half][];
        for (int i = 0; i < half; i++) {
            odd[i] = q[2 * i];
            even[i] = q[2 * i + 1];
        }
        double[][] xin = gaussianMatrix(rng, in, half);
        double[][] yout = gaussianMatrix(rng, half, out);
        double[][] a = Linalg.transpose(Linalg.multiply(xin, odd)); // (r, in)
        double[][] b = Linalg.multiply(Linalg.transpose(yout), even); // (out, r)
        return new Init(scaled(a, 0.1), scaled(b, 0.1), null, null);
    }

    /** PiSSA: the top-r singular triplets, divided by the scaling, move into A and B; the base keeps the tail. */
    private static Init pissa(double[][] w, int r, double scaling, int iterations, long seed) {
        Linalg.Svd svd = Linalg.topSvd(w, r, iterations, seed);
        int out = w.length;
        int in = w[0].length;
        double[][] a = new double[r][in];
        double[][] b = new double[out][r];
        for (int k = 0; k < r; k++) {
            double root = Math.sqrt(svd.s()[k] / scaling);
            for (int j = 0; j < in; j++) {
                a[k][j] = root * svd.v()[j][k];
            }
            for (int i = 0; i < out; i++) {
                b[i][k] = svd.u()[i][k] * root;
            }
        }
        return withResidual(w, a, b, scaling);
    }

    /** OLoRA: B = Q[:, :r], A = R[:r, :] of the stored weight's QR (no division by the scaling). */
    private static Init olora(double[][] w, int r, double scaling, boolean fanInFanOut) {
        if (fanInFanOut) {
            throw new LoraException("init_lora_weights='olora' is only supported on Linear layers, not on"
                    + " transformers Conv1D (fan_in_fan_out) layers");
        }
        Linalg.Qr qr = Linalg.qr(w, r);
        return withResidual(w, qr.r(), qr.q(), scaling);
    }

    private static Init withResidual(double[][] w, double[][] a, double[][] b, double scaling) {
        // computed from the float32 values actually stored, so W_res + s·B·A reproduces W in float arithmetic
        float[] af = Linalg.flatten(a);
        float[] bf = Linalg.flatten(b);
        double[][] ba = Linalg.multiply(Linalg.reshape(bf, b.length, b[0].length),
                Linalg.reshape(af, a.length, a[0].length));
        double[][] res = new double[w.length][w[0].length];
        for (int i = 0; i < w.length; i++) {
            for (int j = 0; j < w[0].length; j++) {
                res[i][j] = w[i][j] - scaling * ba[i][j];
            }
        }
        return new Init(af, bf, null, res);
    }

    static float[] uniform(SplittableRandom rng, int n, double bound) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
        }
        return f;
    }

    static float[] gaussian(SplittableRandom rng, int n, double std) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) (rng.nextGaussian() * std);
        }
        return f;
    }

    private static double[][] gaussianMatrix(SplittableRandom rng, int rows, int cols) {
        double[][] m = new double[rows][cols];
        for (double[] row : m) {
            for (int j = 0; j < cols; j++) {
                row[j] = rng.nextGaussian();
            }
        }
        return m;
    }

    private static float[] scaled(double[][] m, double s) {
        float[] f = Linalg.flatten(m);
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) (f[i] * s);
        }
        return f;
    }
}
