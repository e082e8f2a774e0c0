package dev.lora4j.build;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The BOM has no parent, so its versions repeat the build's: they must not drift apart. */
class BomTest {
    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    static String property(String pom, String name) {
        Matcher m = Pattern.compile("<" + Pattern.quote(name) + ">([^<]+)</" + Pattern.quote(name) + ">").matcher(pom);
        assertTrue(m.find(), name + " is set");
        return m.group(1);
    }

    @Test
    void theBomPinsWhatTheBuildUses() throws IOException {
        String parent = Files.readString(ROOT.resolve("pom.xml"));
        String bom = Files.readString(ROOT.resolve("bom/pom.xml"));
        Matcher v = Pattern.compile("<artifactId>lora4j-parent</artifactId>\\s*<version>([^<]+)</version>")
                .matcher(parent);
        assertTrue(v.find());
        assertEquals(v.group(1), property(bom, "lora4j.version"));
        assertEquals(v.group(1), property(bom, "version"), "the BOM's own version");
        for (String p : new String[] {"pekko.version", "pekko-http.version", "jackson.version", "djl.version",
                "pytorch.version"}) {
            assertEquals(property(parent, p), property(bom, p), p);
        }
    }
}
