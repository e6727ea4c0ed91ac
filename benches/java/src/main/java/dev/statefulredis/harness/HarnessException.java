package dev.statefulredis.harness;

import io.lettuce.core.RedisBusyException;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisLoadingException;
import io.lettuce.core.RedisNoScriptException;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * An error with one of the stable codes of SPEC section 4. Validation failures and
 * {@code DATA} are raised by the harness itself; everything else comes from Lettuce
 * and is classified by {@link #codeOf(Throwable)} where a caller wants the code.
 */
public final class HarnessException extends RuntimeException {
    private final String code;

    public HarnessException(String code, String message) {
        super(message, null, false, false);
        this.code = code;
    }

    public String code() {
        return code;
    }

    static HarnessException invalid(String message) {
        return new HarnessException("INVALID_ARGUMENT", message);
    }

    static HarnessException data(String message) {
        return new HarnessException("DATA", message);
    }

    /** The cause hidden inside a CompletableFuture's wrapper exceptions. */
    public static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /** The SPEC section 4 code of any failure. */
    public static String codeOf(Throwable t) {
        t = unwrap(t);
        if (t instanceof HarnessException h) {
            return h.code;
        }
        if (t instanceof RedisCommandTimeoutException) {
            return "TIMEOUT";
        }
        if (t instanceof RedisConnectionException) {
            return "CONNECTION";
        }
        if (t instanceof RedisNoScriptException) {
            return "SCRIPT";
        }
        if (t instanceof RedisBusyException || t instanceof RedisLoadingException) {
            return "BUSY";
        }
        if (t instanceof RedisCommandExecutionException) {
            String m = String.valueOf(t.getMessage());
            // WRONGTYPE (also raised inside a script): Redis holds something the operation
            // cannot read, which SPEC section 4 calls DATA, as the Rust core does.
            if (m.startsWith("DATA ") || m.startsWith("WRONGTYPE") || m.contains("WRONGTYPE Operation")) {
                return "DATA";
            }
            if (m.startsWith("NOAUTH") || m.startsWith("WRONGPASS") || m.startsWith("NOPERM")) {
                return "AUTH";
            }
            if (m.startsWith("CROSSSLOT") || m.startsWith("CLUSTERDOWN") || m.startsWith("MOVED") || m.startsWith("ASK")) {
                return "CLUSTER";
            }
            if (m.startsWith("OOM") || m.startsWith("BUSY") || m.startsWith("LOADING") || m.startsWith("MASTERDOWN")) {
                return "BUSY";
            }
            if (m.contains("script") || m.contains("Script")) {
                return "SCRIPT";
            }
            return "INTERNAL";
        }
        return "INTERNAL";
    }
}
