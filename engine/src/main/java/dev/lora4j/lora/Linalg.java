package dev.lora4j.lora;

import java.util.SplittableRandom;

/**
 * The dense linear algebra PiSSA, OLoRA and orthogonal initialisation need and DJL's engine lacks (no QR, no SVD), in
 * double precision on row-major arrays. Sizes are per layer and the work happens once per trial.
 */
final class Linalg {
    private Linalg() {}

    /** Thin QR's leading part: {@code Q[:, :k]} (m x k) and {@code R[:k, :]} (k x n), LAPACK's sign convention. */
    record Qr(double[][] q, double[][] r) {}

    /**
     * Householder QR with the first {@code k} reflections only: they already fix R's first k rows and Q's first k
     * columns, so the cost is O(m n k) instead of a full factorisation. {@code R[j][j]} has the opposite sign of the
     * pivot entry, as LAPACK's geqrf (and so torch.linalg.qr) produces.
     */
    static Qr qr(double[][] a, int k) {
        int m = a.length;
        int n = a[0].length;
        k = Math.min(k, Math.min(m, n));
        double[][] w = copy(a);
        double[][] vs = new double[k][];
        double[] taus = new double[k];
        for (int j = 0; j < k; j++) {
            double norm = 0;
            for (int i = j; i < m; i++) {
                norm += w[i][j] * w[i][j];
            }
            norm = Math.sqrt(norm);
            double alpha = w[j][j];
            double[] v = new double[m];
            if (norm == 0) {
                vs[j] = v;
                taus[j] = 0;
                continue;
            }
            double beta = alpha >= 0 ? -norm : norm;
            v[j] = 1;
            double scale = alpha - beta;
            for (int i = j + 1; i < m; i++) {
                v[i] = w[i][j] / scale;
            }
            double tau = (beta - alpha) / beta;
            // apply H = I - tau v v^T to the remaining columns
            for (int c = j; c < n; c++) {
                double dot = 0;
                for (int i = j; i < m; i++) {
                    dot += v[i] * w[i][c];
                }
                dot *= tau;
                for (int i = j; i < m; i++) {
                    w[i][c] -= dot * v[i];
                }
            }
            vs[j] = v;
            taus[j] = tau;
        }
        double[][] r = new double[k][n];
        for (int i = 0; i < k; i++) {
            for (int c = i; c < n; c++) {
                r[i][c] = w[i][c];
            }
        }
        // Q[:, :k] = H_0 ... H_{k-1} applied to the first k unit vectors
        double[][] q = new double[m][k];
        for (int c = 0; c < k; c++) {
            q[c][c] = 1;
        }
        for (int j = k - 1; j >= 0; j--) {
            double[] v = vs[j];
            for (int c = 0; c < k; c++) {
                double dot = 0;
                for (int i = j; i < m; i++) {
                    dot += v[i] * q[i][c];
                }
                dot *= taus[j];
                for (int i = j; i < m; i++) {
                    q[i][c] -= dot * v[i];
                }
            }
        }
        return new Qr(q, r);
    }

    /** Singular value decomposition {@code A = U diag(S) V^T}, singular values descending. */
    record Svd(double[][] u, double[] s, double[][] v) {}

    /**
     * One-sided Jacobi SVD (Hestenes), accurate to working precision; O(m n^2) per sweep, used on matrices with a
     * small second dimension (the projected matrices of subspace iteration, or small layers).
     */
    static Svd svd(double[][] a) {
        int m = a.length;
        int n = a[0].length;
        if (n > m) {
            Svd t = svd(transpose(a));
            return new Svd(t.v(), t.s(), t.u());
        }
        double[][] u = copy(a); // columns get orthogonalised in place
        double[][] v = identity(n);
        for (int sweep = 0; sweep < 80; sweep++) {
            double off = 0;
            for (int p = 0; p < n - 1; p++) {
                for (int q = p + 1; q < n; q++) {
                    double alpha = 0;
                    double beta = 0;
                    double gamma = 0;
                    for (int i = 0; i < m; i++) {
                        alpha += u[i][p] * u[i][p];
                        beta += u[i][q] * u[i][q];
                        gamma += u[i][p] * u[i][q];
                    }
                    if (gamma == 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) {
                        continue;
                    }
                    off = Math.max(off, Math.abs(gamma) / Math.sqrt(alpha * beta));
                    double zeta = (beta - alpha) / (2 * gamma);
                    double t = Math.signum(zeta) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
                    if (zeta == 0) {
                        t = 1;
                    }
                    double c = 1 / Math.sqrt(1 + t * t);
                    double s = c * t;
                    for (int i = 0; i < m; i++) {
                        double up = u[i][p];
                        double uq = u[i][q];
                        u[i][p] = c * up - s * uq;
                        u[i][q] = s * up + c * uq;
                    }
                    for (int i = 0; i < n; i++) {
                        double vp = v[i][p];
                        double vq = v[i][q];
                        v[i][p] = c * vp - s * vq;
                        v[i][q] = s * vp + c * vq;
                    }
                }
            }
            if (off < 1e-15) {
                break;
            }
        }
        double[] s = new double[n];
        for (int j = 0; j < n; j++) {
            double norm = 0;
            for (int i = 0; i < m; i++) {
                norm += u[i][j] * u[i][j];
            }
            s[j] = Math.sqrt(norm);
            if (s[j] > 0) {
                for (int i = 0; i < m; i++) {
                    u[i][j] /= s[j];
                }
            }
        }
        // sort descending
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (x, y) -> Double.compare(s[y], s[x]));
        double[][] us = new double[m][n];
        double[][] vs = new double[n][n];
        double[] ss = new double[n];
        for (int j = 0; j < n; j++) {
            int o = order[j];
            ss[j] = s[o];
            for (int i = 0; i < m; i++) {
                us[i][j] = u[i][o];
            }
            for (int i = 0; i < n; i++) {
                vs[i][j] = v[i][o];
            }
        }
        return new Svd(us, ss, vs);
    }

    /**
     * The top-{@code k} singular triplets by subspace iteration: {@code iterations} rounds of
     * {@code Q = orth(A A^T Q)} from a seeded Gaussian start (torch's {@code svd_lowrank} with {@code niter}), or, when
     * {@code iterations} is negative, until the subspace stops moving (the exact top-k, for {@code "pissa"}).
     */
    static Svd topSvd(double[][] a, int k, int iterations, long seed) {
        int m = a.length;
        int n = a[0].length;
        if (Math.min(m, n) <= 64 && iterations < 0) {
            Svd full = svd(a);
            return truncate(full, k);
        }
        SplittableRandom rng = new SplittableRandom(seed);
        double[][] g = new double[n][k];
        for (double[] row : g) {
            for (int j = 0; j < k; j++) {
                row[j] = rng.nextGaussian();
            }
        }
        double[][] q = qr(multiply(a, g), k).q();
        double[][] at = transpose(a);
        int max = iterations < 0 ? 5000 : iterations;
        double[] prev = null;
        for (int it = 0; it < max; it++) {
            double[][] z = qr(multiply(at, q), k).q();
            q = qr(multiply(a, z), k).q();
            if (iterations < 0 && it % 5 == 4) {
                double[] s = svd(multiply(transpose(q), a)).s();
                if (prev != null && converged(prev, s)) {
                    break;
                }
                prev = s;
            }
        }
        Svd small = svd(multiply(transpose(q), a)); // k x n
        return new Svd(multiply(q, small.u()), small.s(), small.v());
    }

    private static boolean converged(double[] a, double[] b) {
        for (int i = 0; i < a.length; i++) {
            if (Math.abs(a[i] - b[i]) > 1e-14 * Math.max(1, Math.abs(b[0]))) {
                return false;
            }
        }
        return true;
    }

    private static Svd truncate(Svd full, int k) {
        int m = full.u().length;
        int n = full.v().length;
        double[][] u = new double[m][k];
        double[][] v = new double[n][k];
        double[] s = new double[k];
        for (int j = 0; j < k; j++) {
            s[j] = full.s()[j];
            for (int i = 0; i < m; i++) {
                u[i][j] = full.u()[i][j];
            }
            for (int i = 0; i < n; i++) {
                v[i][j] = full.v()[i][j];
            }
        }
        return new Svd(u, s, v);
    }

    static double[][] multiply(double[][] a, double[][] b) {
        int m = a.length;
        int kk = b.length;
        int n = b[0].length;
        double[][] c = new double[m][n];
        for (int i = 0; i < m; i++) {
            double[] ci = c[i];
            for (int p = 0; p < kk; p++) {
                double aip = a[i][p];
                if (aip == 0) {
                    continue;
                }
                double[] bp = b[p];
                for (int j = 0; j < n; j++) {
                    ci[j] += aip * bp[j];
                }
            }
        }
        return c;
    }

    static double[][] transpose(double[][] a) {
        double[][] t = new double[a[0].length][a.length];
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a[0].length; j++) {
                t[j][i] = a[i][j];
            }
        }
        return t;
    }

    static double[][] identity(int n) {
        double[][] e = new double[n][n];
        for (int i = 0; i < n; i++) {
            e[i][i] = 1;
        }
        return e;
    }

    static double[][] copy(double[][] a) {
        double[][] c = new double[a.length][];
        for (int i = 0; i < a.length; i++) {
            c[i] = a[i].clone();
        }
        return c;
    }

    static double[][] reshape(float[] flat, int rows, int cols) {
        double[][] m = new double[rows][cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                m[i][j] = flat[i * cols + j];
            }
        }
        return m;
    }

    static float[] flatten(double[][] m) {
        int cols = m[0].length;
        float[] f = new float[m.length * cols];
        for (int i = 0; i < m.length; i++) {
            for (int j = 0; j < cols; j++) {
                f[i * cols + j] = (float) m[i][j];
            }
        }
        return f;
    }
}
