package dev.statefulredis.harness;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/**
 * {@code selftest}: the edge cases of SPEC section 3 and 4 that the fixture does not reach
 * (validation writes nothing, DATA, TTL refresh, keep, chunked batches, freshness,
 * NOSCRIPT), run against a live Redis in a fresh namespace that is deleted afterwards.
 * A stand-in until the shared conformance vectors exist.
 */
final class SelfTest {
    private final StatefulRedis sr;
    private final String ns;
    private final List<String> failures = new ArrayList<>();
    private int passed;

    SelfTest(StatefulRedis sr) {
        this.sr = sr;
        this.ns = "st" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffffL) + ":eu:logic";
    }

    List<String> run() {
        try {
            validation();
            links();
            trySet();
            ifAbsent();
            remove();
            data();
            batch();
            loads();
            compute();
            workloads();
            noscript();
        } finally {
            cleanup();
        }
        return failures;
    }

    int passed() {
        return passed;
    }

    private void validation() {
        invalid("empty uid", () -> sr.setLinkedPod(ns, "", "chat", 1, -1));
        invalid("control character in uid", () -> sr.setLinkedPod(ns, "a\nb", "chat", 1, -1));
        invalid("513-byte svc", () -> sr.setLinkedPod(ns, "u", "x".repeat(513), 1, -1));
        invalid("negative pod", () -> sr.setLinkedPod(ns, "u", "chat", -1, -1));
        invalid("pod above 2^31-1", () -> sr.setLinkedPod(ns, "u", "chat", 1L << 31, -1));
        invalid("persist 0", () -> sr.setLinkedPodIfAbsent(ns, "u", "chat", 1, 0));
        invalid("persist -2", () -> sr.trySetLinkedPod(ns, "u", "chat", 1, -2));
        invalid("keep 0", () -> sr.removeLinkedPod(ns, "u", "chat", 0));
        invalid("negative load", () -> sr.setPodLoad(ns, "chat", 1, -1, 0));
        invalid("negative state", () -> sr.setPodLoad(ns, "chat", 1, 1, -1));
        invalid("state with a control character", () -> sr.setServiceState(ns, "chat", 1, "a\u0000"));
        invalid("4097-byte state", () -> sr.setWorkloadState(ns, "chat", "s".repeat(4097)));
        invalid("max_age_ms 0", () -> sr.computeLinkedPod(ns, "u", "chat", -1, new StatefulRedis.RoutingPolicy(0, 9)));
        List<String> many = new ArrayList<>();
        for (int i = 0; i <= StatefulRedis.MAX_BATCH; i++) {
            many.add("u" + i);
        }
        invalid("100001 uids", () -> sr.batchGetLinkedPod(ns, many, "chat"));
        if (sr.schema() == Keys.Schema.JAVA) {
            invalid("two-part ns with the java schema", () -> sr.setLinkedPod("app:eu", "u", "chat", 1, -1));
            invalid("empty ns part with the java schema", () -> sr.getLinkedPod("app::logic", "u", "chat"));
        } else {
            eq("two-part ns with the default schema", null, sr.getLinkedPod("app:eu", "u", "chat").join());
        }
        eq("validation wrote nothing", List.of(), keysOfNamespace());
        eq("512-byte names are fine", null, sr.setLinkedPod(ns, "é".repeat(256), "s".repeat(512), 1, -1).join());
    }

    private void links() {
        eq("first set returns none", null, sr.setLinkedPod(ns, "u1", "chat", 3, -1).join());
        eq("index holds the persistent link", Map.of("chat", 3L), sr.getLinkService(ns, "u1").join());
        eq("second set returns the previous pod", 3L, sr.setLinkedPod(ns, "u1", "chat", 4, 100).join());
        eq("temporary link leaves the index", Map.of(), sr.getLinkService(ns, "u1").join());
        eq("an empty index is deleted", 0L, exists(sr.schema().indexKey(ns, "u1")));
        eq("get returns a temporary link", 4L, sr.getLinkedPod(ns, "u1", "chat").join());
        eq("if_persist ignores a temporary link", null, sr.getLinkedPodIfPersist(ns, "u1", "chat").join());
        long pttl = pttl(sr.schema().linkKey(ns, "u1", "chat"));
        check("temporary link has TTL <= 100 s", pttl > 0 && pttl <= 100_000, "PTTL " + pttl);
        eq("back to persistent", 4L, sr.setLinkedPod(ns, "u1", "chat", 5, -1).join());
        eq("persistent link has no TTL", -1L, pttl(sr.schema().linkKey(ns, "u1", "chat")));
        eq("if_persist sees a persistent link", 5L, sr.getLinkedPodIfPersist(ns, "u1", "chat").join());
        eq("no link", null, sr.getLinkedPod(ns, "nobody", "chat").join());
    }

    private void trySet() {
        sr.setLinkedPod(ns, "t1", "chat", 1, 100).join();
        eq("try_set overrides a temporary link", new StatefulRedis.TrySet(true, 2), sr.trySetLinkedPod(ns, "t1", "chat", 2, -1).join());
        eq("try_set refuses another pod over a persistent link", new StatefulRedis.TrySet(false, 2),
                sr.trySetLinkedPod(ns, "t1", "chat", 7, 100).join());
        eq("refusal wrote nothing", -1L, pttl(sr.schema().linkKey(ns, "t1", "chat")));
        eq("try_set with the same pod succeeds", new StatefulRedis.TrySet(true, 2), sr.trySetLinkedPod(ns, "t1", "chat", 2, 100).join());
        eq("try_set to temporary leaves the index", Map.of(), sr.getLinkService(ns, "t1").join());
        eq("try_set on no link", new StatefulRedis.TrySet(true, 9), sr.trySetLinkedPod(ns, "t2", "chat", 9, -1).join());
    }

    private void ifAbsent() {
        eq("if_absent sets when absent", 6L, sr.setLinkedPodIfAbsent(ns, "a1", "chat", 6, 5).join());
        eq("if_absent keeps an existing link", 6L, sr.setLinkedPodIfAbsent(ns, "a1", "chat", 8, 100).join());
        long pttl = pttl(sr.schema().linkKey(ns, "a1", "chat"));
        check("if_absent refreshed the TTL to persist", pttl > 5_000 && pttl <= 100_000, "PTTL " + pttl);
        eq("if_absent with persist -1 keeps a temporary link", 6L, sr.setLinkedPodIfAbsent(ns, "a1", "chat", 8, -1).join());
        pttl = pttl(sr.schema().linkKey(ns, "a1", "chat"));
        check("... and leaves it temporary (no EXPIRE -1)", pttl > 0, "PTTL " + pttl);
        sr.setLinkedPod(ns, "a2", "chat", 1, -1).join();
        eq("if_absent on a persistent link with persist > 0", 1L, sr.setLinkedPodIfAbsent(ns, "a2", "chat", 2, 100).join());
        eq("... leaves it persistent", -1L, pttl(sr.schema().linkKey(ns, "a2", "chat")));
    }

    private void remove() {
        sr.setLinkedPod(ns, "r1", "chat", 3, -1).join();
        sr.setLinkedPod(ns, "r1", "match", 4, -1).join();
        eq("remove with keep 60", true, sr.removeLinkedPod(ns, "r1", "chat", 60).join());
        eq("... the link stays readable", 3L, sr.getLinkedPod(ns, "r1", "chat").join());
        long pttl = pttl(sr.schema().linkKey(ns, "r1", "chat"));
        check("... for at most 60 s", pttl > 0 && pttl <= 60_000, "PTTL " + pttl);
        eq("... and leaves the index at once", Map.of("match", 4L), sr.getLinkService(ns, "r1").join());
        eq("remove with keep -1", true, sr.removeLinkedPod(ns, "r1", "match", -1).join());
        eq("... deletes the link", null, sr.getLinkedPod(ns, "r1", "match").join());
        eq("... and the empty index", 0L, exists(sr.schema().indexKey(ns, "r1")));
        eq("remove of no link", false, sr.removeLinkedPod(ns, "r1", "match", -1).join());
        sr.setLinkedPod(ns, "r2", "chat", 5, -1).join();
        eq("remove_with_id, wrong pod", false, sr.removeLinkedPodWithId(ns, "r2", "chat", -1, 6).join());
        eq("... keeps the link", 5L, sr.getLinkedPod(ns, "r2", "chat").join());
        eq("remove_with_id, right pod", true, sr.removeLinkedPodWithId(ns, "r2", "chat", -1, 5).join());
        eq("... removes it", null, sr.getLinkedPod(ns, "r2", "chat").join());
    }

    private void data() {
        String link = sr.schema().linkKey(ns, "d1", "chat");
        sr.raw().set(link, "not-a-pod").toCompletableFuture().join();
        code("get of a bad link", "DATA", () -> sr.getLinkedPod(ns, "d1", "chat"));
        code("set over a bad link", "DATA", () -> sr.setLinkedPod(ns, "d1", "chat", 1, -1));
        code("try_set over a bad link", "DATA", () -> sr.trySetLinkedPod(ns, "d1", "chat", 1, -1));
        code("if_absent over a bad link", "DATA", () -> sr.setLinkedPodIfAbsent(ns, "d1", "chat", 1, -1));
        code("remove_with_id over a bad link", "DATA", () -> sr.removeLinkedPodWithId(ns, "d1", "chat", -1, 1));
        code("batch over a bad link", "DATA", () -> sr.batchGetLinkedPod(ns, List.of("d0", "d1"), "chat"));
        eq("DATA wrote nothing", "not-a-pod", sr.raw().get(link).toCompletableFuture().join());
        sr.raw().hset(sr.schema().indexKey(ns, "d2"), "chat", "x").toCompletableFuture().join();
        code("get_link_service over a bad index", "DATA", () -> sr.getLinkService(ns, "d2"));
        String index = sr.schema().indexKey(ns, "d3");
        sr.raw().set(index, "not-an-index").toCompletableFuture().join();
        names("set over an index of the wrong type", index, () -> sr.setLinkedPod(ns, "d3", "chat", 1, -1));
        eq("... wrote no link", null, sr.getLinkedPod(ns, "d3", "chat").join());
    }

    private void batch() {
        List<String> uids = new ArrayList<>();
        Map<Long, List<String>> expected = new TreeMap<>();
        List<CompletableFuture<Long>> writes = new ArrayList<>();
        for (int i = 0; i < 2500; i++) {
            String uid = "b" + (2500 - i);
            uids.add(uid);
            if (i % 3 != 0) {
                writes.add(sr.setLinkedPod(ns, uid, "chat", i % 7, i % 2 == 0 ? -1 : 300));
                expected.computeIfAbsent((long) (i % 7), p -> new ArrayList<>()).add(uid);
            }
        }
        CompletableFuture.allOf(writes.toArray(new CompletableFuture[0])).join();
        eq("batch of 2500 uids (3 MGET chunks), input order", expected, sr.batchGetLinkedPod(ns, uids, "chat").join());
        eq("empty batch", Map.of(), sr.batchGetLinkedPod(ns, List.of(), "chat").join());
    }

    private void loads() {
        long stamp = sr.setPodLoad(ns, "game", 1, 10, 0).join();
        sr.setPodLoad(ns, "game", 2, 20, 1).join();
        String state = sr.schema().stateKey(ns, "game");
        sr.raw().hset(state, "3", "online").toCompletableFuture().join();
        sr.raw().hset(state, "x", "1-2-3").toCompletableFuture().join();
        Map<Long, StatefulRedis.PodLoad> all = sr.getPodLoads(ns, "game", null).join();
        eq("load records only, by pod", List.of(1L, 2L), new ArrayList<>(all.keySet()));
        eq("load record fields", new StatefulRedis.PodLoad(10, 0, stamp), all.get(1L));
        eq("fresh_since in the future", Map.of(), sr.getPodLoads(ns, "game", stamp + 86_400_000L).join());
        eq("fresh_since = stamp", 2, sr.getPodLoads(ns, "game", stamp).join().size());
        Map<Long, String> states = sr.getServiceState(ns, "game").join();
        eq("service state skips non-integer fields", List.of(1L, 2L, 3L), new ArrayList<>(states.keySet()));
        eq("service state value", "online", states.get(3L));
    }

    private void compute() {
        StatefulRedis.RoutingPolicy policy = new StatefulRedis.RoutingPolicy(60_000, 5);
        eq("compute with no loads", null, sr.computeLinkedPod(ns, "c1", "empty", -1, policy).join());
        eq("... writes nothing", null, sr.getLinkedPod(ns, "c1", "empty").join());
        String state = sr.schema().stateKey(ns, "route");
        sr.setPodLoad(ns, "route", 1, 50, 0).join();
        sr.setPodLoad(ns, "route", 2, 30, 9).join();
        sr.raw().hset(state, "3", "1-1000-0").toCompletableFuture().join(); // stale (1970)
        eq("compute picks the least-loaded fresh eligible pod", 1L, sr.computeLinkedPod(ns, "c2", "route", 100, policy).join());
        eq("... and links it", 1L, sr.getLinkedPod(ns, "c2", "route").join());
        sr.setPodLoad(ns, "route", 4, 1, 0).join();
        eq("an existing link wins", 1L, sr.computeLinkedPod(ns, "c2", "route", 100, policy).join());
        eq("compute with persist -1 links persistently", 4L, sr.computeLinkedPod(ns, "c3", "route", -1, policy).join());
        eq("... in the index", Map.of("route", 4L), sr.getLinkService(ns, "c3").join());
        eq("max_state excludes every pod", null,
                sr.computeLinkedPod(ns, "c4", "route", -1, new StatefulRedis.RoutingPolicy(60_000, -1)).join());
    }

    private void workloads() {
        eq("empty get_workload_states", Map.of(), sr.getWorkloadStates(ns, List.of()).join());
        sr.setWorkloadState(ns, "w1", "").join();
        eq("an empty workload state is a state", Map.of("w1", ""), sr.getWorkloadStates(ns, List.of("w1", "w2")).join());
        eq("absent workload state", null, sr.getWorkloadState(ns, "w2").join());
    }

    private void noscript() {
        sr.raw().scriptFlush().toCompletableFuture().join();
        eq("a script call after SCRIPT FLUSH", null, sr.setLinkedPod(ns, "n1", "chat", 1, -1).join());
        eq("... ran", 1L, sr.getLinkedPod(ns, "n1", "chat").join());
    }

    // ----- helpers ---------------------------------------------------------------------------

    /** Every key of the test's namespace (unique per run, so KEYS is cheap enough here). */
    private List<String> keysOfNamespace() {
        String pattern = (sr.schema() == Keys.Schema.DEFAULT ? "sf:{" : "slug-*:{") + ns + ":*";
        return sr.raw().keys(pattern).toCompletableFuture().join();
    }

    private void cleanup() {
        List<String> keys = keysOfNamespace();
        if (!keys.isEmpty()) {
            sr.raw().del(keys.toArray(new String[0])).toCompletableFuture().join();
        }
    }

    private long exists(String key) {
        return sr.raw().exists(key).toCompletableFuture().join();
    }

    private long pttl(String key) {
        return sr.raw().pttl(key).toCompletableFuture().join();
    }

    private void invalid(String what, Supplier<CompletableFuture<?>> call) {
        code(what, "INVALID_ARGUMENT", call);
    }

    private void code(String what, String expected, Supplier<CompletableFuture<?>> call) {
        try {
            Object value = call.get().join();
            failures.add(what + ": expected " + expected + ", got the value " + value);
        } catch (RuntimeException e) {
            String code = HarnessException.codeOf(e);
            check(what, expected.equals(code), "expected " + expected + ", got " + code + ": "
                    + HarnessException.unwrap(e).getMessage());
        }
    }

    /** DATA whose message names key, without the script location Redis appends. */
    private void names(String what, String key, Supplier<CompletableFuture<?>> call) {
        try {
            Object value = call.get().join();
            failures.add(what + ": expected DATA, got the value " + value);
        } catch (RuntimeException e) {
            String message = String.valueOf(HarnessException.unwrap(e).getMessage());
            check(what, "DATA".equals(HarnessException.codeOf(e)) && message.contains(key) && !message.contains("script:"),
                    HarnessException.codeOf(e) + ": " + message);
        }
    }

    private void eq(String what, Object expected, Object actual) {
        check(what, Objects.equals(expected, actual), "expected " + expected + ", got " + actual);
    }

    private void check(String what, boolean ok, String detail) {
        if (ok) {
            passed++;
        } else {
            failures.add(what + ": " + detail);
        }
    }
}
