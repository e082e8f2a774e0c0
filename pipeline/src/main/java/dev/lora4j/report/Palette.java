package dev.lora4j.report;

import java.util.Locale;

/** Colours: one per trial, the same in every chart, and a ramp from worst to best metric value. */
final class Palette {
    /** Ten hues far apart and readable on white; chosen for this page. */
    private static final String[] TRIALS = {"#2f6fbf", "#e07b24", "#3a9d5d", "#c8414b", "#7d5bb5", "#8c6239",
        "#d4589e", "#5f6b7a", "#a8a21c", "#1f9fb0"};
    /** Worst (amber) through teal to best (deep blue), so the best lines stand out darkest. */
    private static final int[][] RAMP = {{0xf0, 0xb0, 0x4a}, {0x2e, 0x9c, 0x8f}, {0x1c, 0x3f, 0x94}};

    private Palette() {}

    /** The colour of the trial at {@code position} (in sweep order); past ten, hues a golden angle apart. */
    static String trial(int position) {
        if (position < TRIALS.length) {
            return TRIALS[position];
        }
        double hue = (position * 137.508) % 360;
        double lightness = 0.38 + 0.12 * (position % 3) / 2;
        return hsl(hue, 0.62, lightness);
    }

    /** The ramp at {@code t} from 0 (worst) to 1 (best). */
    static String ramp(double t) {
        double x = Math.max(0, Math.min(1, t)) * (RAMP.length - 1);
        int i = Math.min((int) x, RAMP.length - 2);
        double f = x - i;
        int[] a = RAMP[i];
        int[] b = RAMP[i + 1];
        return String.format(Locale.ROOT, "#%02x%02x%02x", mix(a[0], b[0], f), mix(a[1], b[1], f),
                mix(a[2], b[2], f));
    }

    private static int mix(int a, int b, double f) {
        return (int) Math.round(a + (b - a) * f);
    }

    private static String hsl(double h, double s, double l) {
        double c = (1 - Math.abs(2 * l - 1)) * s;
        double hp = h / 60;
        double x = c * (1 - Math.abs(hp % 2 - 1));
        double[] rgb = hp < 1 ? new double[] {c, x, 0} : hp < 2 ? new double[] {x, c, 0}
                : hp < 3 ? new double[] {0, c, x} : hp < 4 ? new double[] {0, x, c}
                : hp < 5 ? new double[] {x, 0, c} : new double[] {c, 0, x};
        double m = l - c / 2;
        return String.format(Locale.ROOT, "#%02x%02x%02x", Math.round((rgb[0] + m) * 255),
                Math.round((rgb[1] + m) * 255), Math.round((rgb[2] + m) * 255));
    }
}
