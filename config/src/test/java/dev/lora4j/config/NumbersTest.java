package dev.lora4j.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class NumbersTest {
    @Test
    void formatDropsIntegralFractions() {
        assertEquals("16", Numbers.format(16.0));
        assertEquals("0.05", Numbers.format(0.05));
        assertEquals("0.0002", Numbers.format(2e-4));
        assertEquals("NaN", Numbers.format(Double.NaN));
        assertEquals("Infinity", Numbers.format(Double.POSITIVE_INFINITY));
    }

    @Test
    void pythonReprMatchesPythonsFloatRepr() {
        // values printed by CPython 3: repr(x)
        assertEquals("16.0", Numbers.pythonRepr(16.0));
        assertEquals("0.05", Numbers.pythonRepr(0.05));
        assertEquals("1e-05", Numbers.pythonRepr(1e-5));
        assertEquals("0.0001", Numbers.pythonRepr(1e-4));
        assertEquals("0.0002", Numbers.pythonRepr(2e-4));
        assertEquals("1e+16", Numbers.pythonRepr(1e16));
        assertEquals("1000000000000000.0", Numbers.pythonRepr(1e15));
        assertEquals("1.5e-08", Numbers.pythonRepr(1.5e-8));
        assertEquals("-2.5e-07", Numbers.pythonRepr(-2.5e-7));
        assertEquals("0.1", Numbers.pythonRepr(0.1));
        assertEquals("0.30000000000000004", Numbers.pythonRepr(0.1 + 0.2));
        assertEquals("-0.0", Numbers.pythonRepr(-0.0));
    }

    @Test
    void compactIsForNames() {
        assertEquals("5e-4", Numbers.compact(5e-4));
        assertEquals("2.5e-5", Numbers.compact(2.5e-5));
        assertEquals("0.05", Numbers.compact(0.05));
        assertEquals("16", Numbers.compact(16));
        assertEquals("1e-3", Numbers.compact(0.001));
        assertEquals("0", Numbers.compact(0));
    }

    @Test
    void shortestReadsBackExactly() {
        for (double d : new double[] {0.1, 1.0 / 3, 2e-4, 5e-324, 1.7976931348623157e308, 123456.789}) {
            assertEquals(d, Numbers.shortest(d).doubleValue());
        }
        assertEquals("0.1", Numbers.shortest(0.1).toPlainString());
    }
}
