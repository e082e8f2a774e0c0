package dev.lora4j.data;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 as the cache keys use it: hex strings of file contents. */
final class Sha256 {
    private Sha256() {}

    static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }

    static String hex(MessageDigest md) {
        return HexFormat.of().formatHex(md.digest());
    }

    /** The hash of several byte strings (null = absent), each length-prefixed so boundaries and absence count. */
    static String ofParts(byte[]... parts) {
        MessageDigest md = digest();
        for (byte[] part : parts) {
            md.update(Long.toString(part == null ? -1 : part.length).getBytes(StandardCharsets.US_ASCII));
            md.update((byte) 0);
            if (part != null) {
                md.update(part);
            }
        }
        return hex(md);
    }
}
