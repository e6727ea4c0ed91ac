package dev.statefulredis.harness;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.KeyValue;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.protocol.ProtocolVersion;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

import static dev.statefulredis.harness.Keys.Kind;

/**
 * The 17 operations of SPEC section 3 on asynchronous Lettuce, in the Java version's
 * style: one shared connection, every call returns a {@link CompletableFuture}.
 * Semantics follow the Rust core ({@code core/src/executor.rs}): same validation bounds,
 * same keys, same Lua files with the same argument order.
 *
 * <p>Two modes: {@link Mode#AS_SHIPPED} sends the whole script text with EVAL on every
 * call, as the Java version does today; {@link Mode#TUNED} loads the scripts once and
 * runs them with EVALSHA, loading again on NOSCRIPT.
 */
public final class StatefulRedis implements AutoCloseable {
    /** Largest pod id (a Java int in the reference versions). */
    public static final long MAX_POD = Integer.MAX_VALUE;
    /** Largest TTL in seconds for persist and keep. */
    public static final long MAX_TTL_SECONDS = Integer.MAX_VALUE;
    /** Most uids in one batch_get_linked_pod call. */
    public static final int MAX_BATCH = 100_000;
    /** Uids per MGET inside one batch call. */
    public static final int BATCH_CHUNK = 1_000;
    /** Most services in one get_workload_states call. */
    public static final int MAX_SERVICES = 10_000;

    public enum Mode {
        TUNED, AS_SHIPPED;

        public static Mode parse(String s) {
            switch (s) {
                case "tuned":
                    return TUNED;
                case "as-shipped":
                    return AS_SHIPPED;
                default:
                    throw new HarnessException("CONFIG", "unknown mode '" + s + "' (tuned|as-shipped)");
            }
        }

        public String label() {
            return this == TUNED ? "tuned" : "as-shipped";
        }
    }

    /** A load record {@code LOAD-MILLIS-STATE}. */
    public record PodLoad(long load, long state, long updatedMs) {
        /** Three non-negative decimal integers joined by '-', nothing else. */
        public static PodLoad parse(String record) {
            String[] parts = record.split("-", -1);
            if (parts.length != 3) {
                return null;
            }
            Long load = parseDecimal(parts[0]), millis = parseDecimal(parts[1]), state = parseDecimal(parts[2]);
            if (load == null || millis == null || state == null) {
                return null;
            }
            return new PodLoad(load, state, millis);
        }
    }

    /** Result of try_set_linked_pod. */
    public record TrySet(boolean ok, long pod) {
    }

    /** How compute_linked_pod chooses (defaults as in the Rust core). */
    public record RoutingPolicy(long maxAgeMs, long maxState) {
        public static final RoutingPolicy DEFAULT = new RoutingPolicy(60_000, Long.MAX_VALUE);
    }

    private final RedisClient client;
    private final StatefulRedisConnection<String, String> connection;
    private final RedisAsyncCommands<String, String> redis;
    private final Mode mode;
    private final Keys.Schema schema;
    private final Scripts scripts;

    private StatefulRedis(RedisClient client, StatefulRedisConnection<String, String> connection, Mode mode,
            Keys.Schema schema, Scripts scripts) {
        this.client = client;
        this.connection = connection;
        this.redis = connection.async();
        this.mode = mode;
        this.schema = schema;
        this.scripts = scripts;
    }

    /** Opens the one shared connection; in tuned mode loads every script once. */
    public static StatefulRedis connect(String url, Mode mode, Keys.Schema schema, Scripts scripts,
            Duration commandTimeout, ProtocolVersion protocol) {
        RedisURI uri = RedisURI.create(url);
        uri.setTimeout(commandTimeout);
        RedisClient client = RedisClient.create(uri);
        ClientOptions.Builder options = ClientOptions.builder()
                .timeoutOptions(TimeoutOptions.enabled(commandTimeout));
        if (protocol != null) {
            options.protocolVersion(protocol);
        }
        client.setOptions(options.build());
        StatefulRedisConnection<String, String> connection;
        try {
            connection = client.connect();
        } catch (RuntimeException e) {
            client.shutdown();
            throw e;
        }
        StatefulRedis sr = new StatefulRedis(client, connection, mode, schema, scripts);
        if (mode == Mode.TUNED) {
            sr.loadScripts().join();
        }
        return sr;
    }

    /** SCRIPT LOAD of every script; checks that the server's SHA is ours. */
    public CompletableFuture<Void> loadScripts() {
        List<CompletableFuture<?>> loads = new ArrayList<>();
        for (Scripts.Lua s : scripts.all()) {
            loads.add(redis.scriptLoad(s.source()).toCompletableFuture().thenAccept(sha -> {
                if (!s.sha().equals(sha)) {
                    throw new HarnessException("SCRIPT", "server SHA " + sha + " for " + s.name() + " is not " + s.sha());
                }
            }));
        }
        return CompletableFuture.allOf(loads.toArray(new CompletableFuture[0]));
    }

    public RedisAsyncCommands<String, String> raw() {
        return redis;
    }

    public Keys.Schema schema() {
        return schema;
    }

    public Mode mode() {
        return mode;
    }

    @Override
    public void close() {
        connection.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }

    // ----- script calls ---------------------------------------------------------------

    private <T> CompletableFuture<T> eval(Scripts.Lua script, ScriptOutputType type, String[] keys, String... args) {
        if (mode == Mode.AS_SHIPPED) {
            return redis.<T>eval(script.source(), type, keys, args).toCompletableFuture()
                    .exceptionallyCompose(e -> CompletableFuture.failedFuture(withoutScriptLocation(e)));
        }
        CompletableFuture<T> call = redis.<T>evalsha(script.sha(), type, keys, args).toCompletableFuture();
        // NOSCRIPT means the script did not run: load it and run it again.
        return call.exceptionallyCompose(e -> {
            Throwable cause = HarnessException.unwrap(e);
            if (cause instanceof RedisNoScriptException) {
                return redis.scriptLoad(script.source()).toCompletableFuture()
                        .thenCompose(sha -> redis.<T>evalsha(script.sha(), type, keys, args).toCompletableFuture());
            }
            return CompletableFuture.failedFuture(cause);
        }).exceptionallyCompose(e -> CompletableFuture.failedFuture(withoutScriptLocation(e)));
    }

    /**
     * A DATA error raised by a script names its key; Redis appends where in which script
     * it was raised (" script: <sha>, on @user_script:N."), which tells the caller nothing.
     */
    private static Throwable withoutScriptLocation(Throwable e) {
        Throwable cause = HarnessException.unwrap(e);
        String m = String.valueOf(cause.getMessage());
        int at = m.indexOf(" script: ");
        if (m.startsWith("DATA ") && at >= 0) {
            return HarnessException.data(m.substring("DATA ".length(), at));
        }
        return cause;
    }

    /** WRONGTYPE from a plain command on key: DATA naming the key (SPEC section 4). */
    private static <T> CompletableFuture<T> namingKey(String key, CompletableFuture<T> call) {
        return call.exceptionallyCompose(e -> {
            Throwable cause = HarnessException.unwrap(e);
            if ("DATA".equals(HarnessException.codeOf(cause))) {
                cause = HarnessException.data("key " + key + " holds a value of the wrong type for this operation");
            }
            return CompletableFuture.failedFuture(cause);
        });
    }

    private static <T> CompletableFuture<T> fail(RuntimeException e) {
        return CompletableFuture.failedFuture(e);
    }

    // ----- pod and workload state (1-7) ------------------------------------------------

    /** 1. Sets the state of one pod of a service. */
    public CompletableFuture<Void> setServiceState(String ns, String svc, long pod, String state) {
        try {
            validateNsSvc(ns, svc);
            validatePod(pod);
            Keys.validateState(state);
        } catch (HarnessException e) {
            return fail(e);
        }
        String key = schema.stateKey(ns, svc);
        return namingKey(key, redis.hset(key, Long.toString(pod), state).toCompletableFuture()).thenApply(n -> null);
    }

    /** 2. The state of every pod; fields that are not canonical pod ids are skipped. */
    public CompletableFuture<Map<Long, String>> getServiceState(String ns, String svc) {
        try {
            validateNsSvc(ns, svc);
        } catch (HarnessException e) {
            return fail(e);
        }
        String key = schema.stateKey(ns, svc);
        return namingKey(key, redis.hgetall(key).toCompletableFuture()).thenApply(fields -> {
            Map<Long, String> out = new TreeMap<>();
            fields.forEach((field, value) -> {
                Long pod = parsePodId(field);
                if (pod != null) {
                    out.put(pod, value);
                }
            });
            return out;
        });
    }

    /** 3. Sets the state of a service's workload. */
    public CompletableFuture<Void> setWorkloadState(String ns, String svc, String state) {
        try {
            validateNsSvc(ns, svc);
            Keys.validateState(state);
        } catch (HarnessException e) {
            return fail(e);
        }
        return redis.set(schema.workloadKey(ns, svc), state).toCompletableFuture().thenApply(ok -> null);
    }

    /** 4. The workload state, or null. */
    public CompletableFuture<String> getWorkloadState(String ns, String svc) {
        try {
            validateNsSvc(ns, svc);
        } catch (HarnessException e) {
            return fail(e);
        }
        String key = schema.workloadKey(ns, svc);
        return namingKey(key, redis.get(key).toCompletableFuture());
    }

    /** 5. Workload states of several services; absent ones omitted. One MGET (standalone). */
    public CompletableFuture<Map<String, String>> getWorkloadStates(String ns, List<String> services) {
        String[] keys = new String[services.size()];
        try {
            schema.validateNamespace(ns);
            if (services.size() > MAX_SERVICES) {
                throw HarnessException.invalid(services.size() + " services in one call; the limit is " + MAX_SERVICES);
            }
            for (int i = 0; i < keys.length; i++) {
                Keys.validateName(Kind.SVC, services.get(i));
                keys[i] = schema.workloadKey(ns, services.get(i));
            }
        } catch (HarnessException e) {
            return fail(e);
        }
        if (keys.length == 0) {
            return CompletableFuture.completedFuture(new TreeMap<>());
        }
        return redis.mget(keys).toCompletableFuture().thenApply(values -> {
            Map<String, String> out = new TreeMap<>();
            for (int i = 0; i < keys.length; i++) {
                KeyValue<String, String> kv = values.get(i);
                if (kv.hasValue()) {
                    out.put(services.get(i), kv.getValue());
                }
            }
            return out;
        });
    }

    /** 6. Writes a load record stamped with the server's clock; returns the stamp (ms). */
    public CompletableFuture<Long> setPodLoad(String ns, String svc, long pod, long load, long state) {
        try {
            validateNsSvc(ns, svc);
            validatePod(pod);
            validateNonNegative("load", load);
            validateNonNegative("state", state);
        } catch (HarnessException e) {
            return fail(e);
        }
        return this.<Long>eval(scripts.setPodLoad, ScriptOutputType.INTEGER,
                new String[] {schema.stateKey(ns, svc)}, Long.toString(pod), Long.toString(load), Long.toString(state));
    }

    /** 7. Load records updated at or after freshSinceMs (null: all); other values and fields left out. */
    public CompletableFuture<Map<Long, PodLoad>> getPodLoads(String ns, String svc, Long freshSinceMs) {
        try {
            validateNsSvc(ns, svc);
        } catch (HarnessException e) {
            return fail(e);
        }
        long since = freshSinceMs == null ? Long.MIN_VALUE : freshSinceMs;
        String key = schema.stateKey(ns, svc);
        return namingKey(key, redis.hgetall(key).toCompletableFuture()).thenApply(fields -> {
            Map<Long, PodLoad> out = new TreeMap<>();
            fields.forEach((field, value) -> {
                Long pod = parsePodId(field);
                PodLoad load = pod == null ? null : PodLoad.parse(value);
                if (load != null && load.updatedMs() >= since) {
                    out.put(pod, load);
                }
            });
            return out;
        });
    }

    // ----- links (8-17) ------------------------------------------------------------------

    /** 8. Sets the link; returns the previous pod or null. */
    public CompletableFuture<Long> setLinkedPod(String ns, String uid, String svc, long pod, long persist) {
        String link, index;
        try {
            validateLink(ns, uid, svc);
            validatePod(pod);
            validateTtl("persist", persist);
            index = schema.indexKey(ns, uid);
            link = schema.linkKey(ns, uid, svc);
        } catch (HarnessException e) {
            return fail(e);
        }
        return this.<String>eval(scripts.setLinkedPod, ScriptOutputType.VALUE, new String[] {link, index},
                svc, Long.toString(pod), Long.toString(persist)).thenApply(previous -> parsePod(link, previous));
    }

    /** 9. Sets the link unless a persistent link points to another pod. */
    public CompletableFuture<TrySet> trySetLinkedPod(String ns, String uid, String svc, long pod, long persist) {
        String link, index;
        try {
            validateLink(ns, uid, svc);
            validatePod(pod);
            validateTtl("persist", persist);
            index = schema.indexKey(ns, uid);
            link = schema.linkKey(ns, uid, svc);
        } catch (HarnessException e) {
            return fail(e);
        }
        return this.<List<Object>>eval(scripts.trySetLinkedPod, ScriptOutputType.MULTI, new String[] {link, index},
                svc, Long.toString(pod), Long.toString(persist))
                .thenApply(reply -> new TrySet(((Long) reply.get(0)) == 1L, parsePod(link, (String) reply.get(1))));
    }

    /** 10. Links only if no link exists; returns the pod actually linked. */
    public CompletableFuture<Long> setLinkedPodIfAbsent(String ns, String uid, String svc, long pod, long persist) {
        String link, index;
        try {
            validateLink(ns, uid, svc);
            validatePod(pod);
            validateTtl("persist", persist);
            index = schema.indexKey(ns, uid);
            link = schema.linkKey(ns, uid, svc);
        } catch (HarnessException e) {
            return fail(e);
        }
        return linkIfAbsent(link, index, svc, pod, persist).thenApply(linked -> linked == null ? pod : linked);
    }

    /**
     * Runs set_linked_pod_if_absent.lua: links pod unless a link exists, and returns the pod
     * linked after the call (it comes back as a string). With pod null it only returns (and
     * refreshes, as "if absent" does) an existing link, or null when there is none.
     */
    private CompletableFuture<Long> linkIfAbsent(String link, String index, String svc, Long pod, long persist) {
        return this.<String>eval(scripts.setLinkedPodIfAbsent, ScriptOutputType.VALUE, new String[] {link, index},
                svc, pod == null ? "" : Long.toString(pod), Long.toString(persist))
                .thenApply(linked -> parsePod(link, linked));
    }

    /** 11. The pod uid is linked to, persistent or temporary, or null. */
    public CompletableFuture<Long> getLinkedPod(String ns, String uid, String svc) {
        String link;
        try {
            validateLink(ns, uid, svc);
            link = schema.linkKey(ns, uid, svc);
        } catch (HarnessException e) {
            return fail(e);
        }
        if (scripts.getLinkedPod != null) {
            // A scripts directory with get_linked_pod.lua: read through it, as the Java
            // version does (its statefulGetLink.lua), for the server-cost comparison.
            return this.<String>eval(scripts.getLinkedPod, ScriptOutputType.VALUE, new String[] {link})
                    .thenApply(value -> parsePod(link, value));
        }
        return namingKey(link, redis.get(link).toCompletableFuture()).thenApply(value -> parsePod(link, value));
    }

    /**
     * 12. The pod, only if the link is persistent. GET and PTTL are sent back to back on
     * the shared connection; unlike the Rust core's script they are not one atomic
     * read (as in the Java version; MULTI would be connection state here and would
     * capture other callers' commands).
     */
    public CompletableFuture<Long> getLinkedPodIfPersist(String ns, String uid, String svc) {
        String link;
        try {
            validateLink(ns, uid, svc);
            link = schema.linkKey(ns, uid, svc);
        } catch (HarnessException e) {
            return fail(e);
        }
        CompletableFuture<String> value = namingKey(link, redis.get(link).toCompletableFuture());
        CompletableFuture<Long> ttl = redis.pttl(link).toCompletableFuture();
        return value.thenCombine(ttl, (v, t) -> {
            Long pod = parsePod(link, v);
            return t == -1 ? pod : null;
        });
    }

    /** 13. Links of many uids for one service, grouped by pod, uids in input order. */
    public CompletableFuture<Map<Long, List<String>>> batchGetLinkedPod(String ns, List<String> uids, String svc) {
        String[] keys = new String[uids.size()];
        try {
            validateNsSvc(ns, svc);
            if (uids.size() > MAX_BATCH) {
                throw HarnessException.invalid(uids.size() + " uids in one call; the limit is " + MAX_BATCH);
            }
            for (int i = 0; i < keys.length; i++) {
                Keys.validateName(Kind.UID, uids.get(i));
            }
            for (int i = 0; i < keys.length; i++) {
                keys[i] = schema.linkKey(ns, uids.get(i), svc);
            }
        } catch (HarnessException e) {
            return fail(e);
        }
        if (keys.length == 0) {
            return CompletableFuture.completedFuture(new TreeMap<>());
        }
        if (keys.length <= BATCH_CHUNK) {
            return redis.mget(keys).toCompletableFuture().thenApply(values -> groupByPod(uids, keys, 0, values, new TreeMap<>()));
        }
        List<CompletableFuture<List<KeyValue<String, String>>>> chunks = new ArrayList<>();
        for (int from = 0; from < keys.length; from += BATCH_CHUNK) {
            String[] chunk = java.util.Arrays.copyOfRange(keys, from, Math.min(keys.length, from + BATCH_CHUNK));
            chunks.add(redis.mget(chunk).toCompletableFuture());
        }
        return CompletableFuture.allOf(chunks.toArray(new CompletableFuture[0])).thenApply(done -> {
            Map<Long, List<String>> out = new TreeMap<>();
            for (int c = 0; c < chunks.size(); c++) {
                groupByPod(uids, keys, c * BATCH_CHUNK, chunks.get(c).join(), out);
            }
            return out;
        });
    }

    private static Map<Long, List<String>> groupByPod(List<String> uids, String[] keys, int offset,
            List<KeyValue<String, String>> values, Map<Long, List<String>> out) {
        for (int i = 0; i < values.size(); i++) {
            KeyValue<String, String> kv = values.get(i);
            if (kv.hasValue()) {
                Long pod = parsePod(keys[offset + i], kv.getValue());
                out.computeIfAbsent(pod, p -> new ArrayList<>()).add(uids.get(offset + i));
            }
        }
        return out;
    }

    /** 14. Removes the link (keep -1 now, > 0 readable for keep seconds); whether one existed. */
    public CompletableFuture<Boolean> removeLinkedPod(String ns, String uid, String svc, long keep) {
        String link, index;
        try {
            validateLink(ns, uid, svc);
            validateTtl("keep", keep);
            index = schema.indexKey(ns, uid);
            link = schema.linkKey(ns, uid, svc);
        } catch (HarnessException e) {
            return fail(e);
        }
        return this.<Long>eval(scripts.removeLinkedPod, ScriptOutputType.INTEGER, new String[] {link, index},
                svc, Long.toString(keep), "").thenApply(n -> n == 1L);
    }

    /** 15. As 14, only when the link points to pod. */
    public CompletableFuture<Boolean> removeLinkedPodWithId(String ns, String uid, String svc, long keep, long pod) {
        String link, index;
        try {
            validateLink(ns, uid, svc);
            validateTtl("keep", keep);
            validatePod(pod);
            index = schema.indexKey(ns, uid);
            link = schema.linkKey(ns, uid, svc);
        } catch (HarnessException e) {
            return fail(e);
        }
        return this.<Long>eval(scripts.removeLinkedPod, ScriptOutputType.INTEGER, new String[] {link, index},
                svc, Long.toString(keep), Long.toString(pod)).thenApply(n -> n == 1L);
    }

    /** 16. The persistent links of uid: service -> pod. */
    public CompletableFuture<Map<String, Long>> getLinkService(String ns, String uid) {
        String key;
        try {
            schema.validateNamespace(ns);
            Keys.validateName(Kind.UID, uid);
            key = schema.indexKey(ns, uid);
        } catch (HarnessException e) {
            return fail(e);
        }
        return namingKey(key, redis.hgetall(key).toCompletableFuture()).thenApply(fields -> {
            Map<String, Long> out = new TreeMap<>();
            fields.forEach((svc, value) -> {
                Long pod = parsePodId(value);
                if (pod == null) {
                    throw HarnessException.data("key " + key + " field \"" + svc + "\" holds a value that is not a pod id");
                }
                out.put(svc, pod);
            });
            return out;
        });
    }

    /**
     * 17. The existing link (a temporary one refreshed as in 10), or a link to the
     * least-loaded eligible pod made only if uid still has none. As in the Rust core, no
     * round trip writes a pod read in an earlier one (a link removed in between would come
     * back): persist -1 reads the link with GET; persist > 0 returns and refreshes it with
     * set_linked_pod_if_absent.lua and no pod. Without a link: read the loads with the
     * server's clock, then set-if-absent with the pod chosen from them.
     */
    public CompletableFuture<Long> computeLinkedPod(String ns, String uid, String svc, long persist, RoutingPolicy policy) {
        String link, index, stateKey;
        try {
            validateLink(ns, uid, svc);
            validateTtl("persist", persist);
            if (policy.maxAgeMs() <= 0) {
                throw HarnessException.invalid("policy.max_age_ms must be positive");
            }
            index = schema.indexKey(ns, uid);
            link = schema.linkKey(ns, uid, svc);
            stateKey = schema.stateKey(ns, svc);
        } catch (HarnessException e) {
            return fail(e);
        }
        CompletableFuture<Long> existing = persist == -1
                ? namingKey(link, redis.get(link).toCompletableFuture()).thenApply(value -> parsePod(link, value))
                : linkIfAbsent(link, index, svc, null, persist);
        return existing.thenCompose(current -> {
            if (current != null) {
                return CompletableFuture.completedFuture(current);
            }
            return this.<List<Object>>eval(scripts.readPodLoads, ScriptOutputType.MULTI, new String[] {stateKey})
                    .thenCompose(reply -> {
                        long now = (Long) reply.get(0);
                        @SuppressWarnings("unchecked")
                        List<Object> flat = (List<Object>) reply.get(1);
                        long oldest = now - policy.maxAgeMs();
                        Long best = null;
                        long bestLoad = 0;
                        for (int i = 0; i + 1 < flat.size(); i += 2) {
                            Long pod = parsePodId(String.valueOf(flat.get(i)));
                            PodLoad load = pod == null ? null : PodLoad.parse(String.valueOf(flat.get(i + 1)));
                            if (load == null || load.updatedMs() < oldest || load.state() > policy.maxState()) {
                                continue;
                            }
                            if (best == null || load.load() < bestLoad || (load.load() == bestLoad && pod < best)) {
                                best = pod;
                                bestLoad = load.load();
                            }
                        }
                        if (best == null) {
                            return CompletableFuture.completedFuture(null);
                        }
                        return linkIfAbsent(link, index, svc, best, persist);
                    });
        });
    }

    // ----- validation and parsing --------------------------------------------------------

    private void validateNsSvc(String ns, String svc) {
        schema.validateNamespace(ns);
        Keys.validateName(Kind.SVC, svc);
    }

    private void validateLink(String ns, String uid, String svc) {
        schema.validateNamespace(ns);
        Keys.validateName(Kind.UID, uid);
        Keys.validateName(Kind.SVC, svc);
    }

    static void validatePod(long pod) {
        if (pod < 0 || pod > MAX_POD) {
            throw HarnessException.invalid("pod must be between 0 and " + MAX_POD + ", not " + pod);
        }
    }

    static void validateTtl(String name, long seconds) {
        if (seconds == -1 || (seconds >= 1 && seconds <= MAX_TTL_SECONDS)) {
            return;
        }
        throw HarnessException.invalid(name + " must be -1 (persistent) or between 1 and " + MAX_TTL_SECONDS
                + " seconds, not " + seconds);
    }

    static void validateNonNegative(String name, long value) {
        if (value < 0) {
            throw HarnessException.invalid(name + " must not be negative, not " + value);
        }
    }

    /** A non-negative decimal integer without sign or spaces that fits a long, else null. */
    static Long parseDecimal(String s) {
        if (s == null || s.isEmpty()) {
            return null;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return null;
            }
        }
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /**
     * A pod id in canonical form: decimal digits without sign, spaces or leading zeros,
     * within 0..MAX_POD (the range inputs are checked against), else null. "07" must not
     * collide with "7", and an id beyond the range must not be misread.
     */
    static Long parsePodId(String s) {
        if (s != null && s.length() > 1 && s.charAt(0) == '0') {
            return null;
        }
        Long pod = parseDecimal(s);
        return pod != null && pod <= MAX_POD ? pod : null;
    }

    /** A link value read from key: a pod id, null, or DATA naming the key. */
    static Long parsePod(String key, String value) {
        if (value == null) {
            return null;
        }
        Long pod = parsePodId(value);
        if (pod == null) {
            throw HarnessException.data("key " + key + " holds a link that is not a pod id");
        }
        return pod;
    }
}
