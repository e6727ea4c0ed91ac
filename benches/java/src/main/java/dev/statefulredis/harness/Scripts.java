package dev.statefulredis.harness;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The project's Lua scripts ({@code core/src/scripts/*.lua}). The build copies them into
 * the jar under {@code scripts/}; {@code --scripts-dir DIR} reads them from a checkout
 * instead. Their text is never duplicated in Java.
 *
 * <p>Each script is sent as the Rust core builds it ({@code core/src/scripts.rs}): a first
 * line {@code local MAX_POD = '<MAX_POD>'} from {@link StatefulRedis#MAX_POD}, then
 * {@code prelude.lua} (helpers, not a script of its own), a newline and the script's file.
 * Same text, so the same SHA1 as the Rust side's.
 */
public final class Scripts {
    /** One script: its text and the SHA1 that EVALSHA expects. */
    public record Lua(String name, String source, String sha) {
    }

    public final Lua setLinkedPod;
    public final Lua trySetLinkedPod;
    public final Lua setLinkedPodIfAbsent;
    public final Lua removeLinkedPod;
    public final Lua setPodLoad;
    public final Lua readPodLoads;
    /**
     * Only from a directory that has {@code get_linked_pod.lua} (null otherwise): then
     * {@code get_linked_pod} reads through it instead of a plain GET. The project has no
     * such script; {@code benches/compare/java-shipped-scripts} has one, as the Java
     * version reads a link through a script.
     */
    public final Lua getLinkedPod;

    private Scripts(Path dir) throws IOException {
        String prelude = header() + read(dir, "prelude.lua") + "\n";
        setLinkedPod = load(dir, prelude, "set_linked_pod");
        trySetLinkedPod = load(dir, prelude, "try_set_linked_pod");
        setLinkedPodIfAbsent = load(dir, prelude, "set_linked_pod_if_absent");
        removeLinkedPod = load(dir, prelude, "remove_linked_pod");
        setPodLoad = load(dir, prelude, "set_pod_load");
        readPodLoads = load(dir, prelude, "read_pod_loads");
        getLinkedPod = dir != null && Files.exists(dir.resolve("get_linked_pod.lua"))
                ? load(dir, prelude, "get_linked_pod") : null;
    }

    /** From the jar (dir == null) or from a directory of .lua files. */
    public static Scripts load(Path dir) throws IOException {
        return new Scripts(dir);
    }

    public Lua[] all() {
        Lua[] six = {setLinkedPod, trySetLinkedPod, setLinkedPodIfAbsent, removeLinkedPod, setPodLoad, readPodLoads};
        if (getLinkedPod == null) {
            return six;
        }
        Lua[] seven = java.util.Arrays.copyOf(six, 7);
        seven[6] = getLinkedPod;
        return seven;
    }

    /** The first line of every script: the pod id range, as in the Rust core. */
    static String header() {
        return "local MAX_POD = '" + StatefulRedis.MAX_POD + "'\n";
    }

    private static Lua load(Path dir, String prelude, String name) throws IOException {
        String source = prelude + read(dir, name + ".lua");
        return new Lua(name, source, sha1(source));
    }

    private static String read(Path dir, String file) throws IOException {
        if (dir != null) {
            return Files.readString(dir.resolve(file), StandardCharsets.UTF_8);
        }
        try (InputStream in = Scripts.class.getResourceAsStream("/scripts/" + file)) {
            if (in == null) {
                throw new IOException("script " + file + " is not in the jar (build with mvn package)");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static String sha1(String text) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8));
            StringBuilder hex = new StringBuilder(40);
            for (byte b : digest) {
                hex.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
            }
            return hex.toString();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
