package dev.statefulredis.harness;

import java.nio.charset.StandardCharsets;

/**
 * Name validation and the two key schemas (SPEC section 2), mirroring
 * {@code core/src/keys.rs}: percent-encode {@code %} (first), <code>{</code> and
 * <code>}</code> in every name, and also {@code :} in UID and SVC. Names without those
 * characters give exactly the documented keys.
 */
public final class Keys {
    /** Longest name in UTF-8 bytes (before encoding), as in the Rust core. */
    public static final int MAX_NAME_LEN = 512;
    /** Longest state string in UTF-8 bytes, as in the Rust core. */
    public static final int MAX_STATE_LEN = 4096;

    enum Kind {
        NS("ns"), SVC("svc"), UID("uid");

        final String label;

        Kind(String label) {
            this.label = label;
        }
    }

    /** Which key layout to use. */
    public enum Schema {
        /** {@code sf:{NS:state:SVC}}, {@code sf:{NS:workload:SVC}}, {@code sf:{NS:lk:UID}SVC}, {@code sf:{NS:lk:UID}}. */
        DEFAULT,
        /**
         * The Java version's layout: {@code slug-state:{NS:SVC}}, {@code slug-lk:{NS:UID:SVC}} (link),
         * {@code slug-lk:{NS:UID}} (index); the workload state, which the Java version keeps
         * elsewhere, is {@code slug-workload:{NS:SVC}} here.
         */
        JAVA;

        public static Schema parse(String s) {
            switch (s) {
                case "default":
                    return DEFAULT;
                case "java":
                    return JAVA;
                default:
                    throw new HarnessException("CONFIG", "unknown schema '" + s + "' (default|java)");
            }
        }

        public String label() {
            return this == DEFAULT ? "default" : "java";
        }

        /** Validates a namespace for this schema (Java: exactly appId:regionId:logicType). */
        public void validateNamespace(String ns) {
            validateName(Kind.NS, ns);
            if (this == JAVA) {
                String[] parts = ns.split(":", -1);
                if (parts.length != 3 || parts[0].isEmpty() || parts[1].isEmpty() || parts[2].isEmpty()) {
                    throw HarnessException.invalid(
                            "with the java key schema ns must be three non-empty parts appId:regionId:logicType, not '" + ns + "'");
                }
            }
        }

        public String stateKey(String ns, String svc) {
            String n = encode(Kind.NS, ns), s = encode(Kind.SVC, svc);
            return this == DEFAULT ? "sf:{" + n + ":state:" + s + "}" : "slug-state:{" + n + ":" + s + "}";
        }

        public String workloadKey(String ns, String svc) {
            String n = encode(Kind.NS, ns), s = encode(Kind.SVC, svc);
            return this == DEFAULT ? "sf:{" + n + ":workload:" + s + "}" : "slug-workload:{" + n + ":" + s + "}";
        }

        public String indexKey(String ns, String uid) {
            String n = encode(Kind.NS, ns), u = encode(Kind.UID, uid);
            return this == DEFAULT ? "sf:{" + n + ":lk:" + u + "}" : "slug-lk:{" + n + ":" + u + "}";
        }

        public String linkKey(String ns, String uid, String svc) {
            if (this == DEFAULT) {
                return indexKey(ns, uid) + encode(Kind.SVC, svc);
            }
            return "slug-lk:{" + encode(Kind.NS, ns) + ":" + encode(Kind.UID, uid) + ":" + encode(Kind.SVC, svc) + "}";
        }
    }

    private Keys() {
    }

    /** Non-empty, at most {@link #MAX_NAME_LEN} UTF-8 bytes, no control characters. */
    static void validateName(Kind kind, String name) {
        if (name == null || name.isEmpty()) {
            throw HarnessException.invalid(kind.label + " must not be empty");
        }
        int len = utf8Length(name);
        if (len > MAX_NAME_LEN) {
            throw HarnessException.invalid(kind.label + " is " + len + " bytes long; the limit is " + MAX_NAME_LEN);
        }
        if (hasControl(name)) {
            throw HarnessException.invalid(kind.label + " must not contain control characters");
        }
    }

    /** At most {@link #MAX_STATE_LEN} UTF-8 bytes, no control characters; empty is allowed. */
    static void validateState(String state) {
        if (state == null) {
            throw HarnessException.invalid("state must not be null");
        }
        int len = utf8Length(state);
        if (len > MAX_STATE_LEN) {
            throw HarnessException.invalid("state is " + len + " bytes long; the limit is " + MAX_STATE_LEN);
        }
        if (hasControl(state)) {
            throw HarnessException.invalid("state must not contain control characters");
        }
    }

    private static int utf8Length(String s) {
        // Fast path: ASCII strings are as long in bytes as in chars.
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) >= 0x80) {
                return s.getBytes(StandardCharsets.UTF_8).length;
            }
        }
        return s.length();
    }

    /** Unicode Cc, the same set as Rust's {@code char::is_control}. */
    private static boolean hasControl(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (Character.isISOControl(s.charAt(i))) {
                return true;
            }
        }
        return false;
    }

    static String encode(Kind kind, String name) {
        boolean colon = kind != Kind.NS;
        int i = 0;
        for (; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '%' || c == '{' || c == '}' || (colon && c == ':')) {
                break;
            }
        }
        if (i == name.length()) {
            return name;
        }
        StringBuilder out = new StringBuilder(name.length() + 8);
        for (int j = 0; j < name.length(); j++) {
            char c = name.charAt(j);
            switch (c) {
                case '%' -> out.append("%25");
                case '{' -> out.append("%7B");
                case '}' -> out.append("%7D");
                case ':' -> out.append(colon ? "%3A" : ":");
                default -> out.append(c);
            }
        }
        return out.toString();
    }
}
