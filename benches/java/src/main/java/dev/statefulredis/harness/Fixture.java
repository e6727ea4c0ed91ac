package dev.statefulredis.harness;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * write-fixture / check-fixture: the content of {@code fixture.json} written and read
 * back through {@link StatefulRedis}, for the wire-compatibility test with the Rust core.
 */
final class Fixture {
    private final JsonNode doc;
    private final String ns;
    private final StatefulRedis sr;
    private final List<String> differences = new ArrayList<>();

    Fixture(JsonNode doc, String ns, StatefulRedis sr) {
        this.doc = doc;
        this.ns = ns;
        this.sr = sr;
    }

    static JsonNode read(Path path) throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        if (path != null) {
            return mapper.readTree(Files.readAllBytes(path));
        }
        try (InputStream in = Fixture.class.getResourceAsStream("/fixture.json")) {
            if (in == null) {
                throw new IOException("fixture.json is not in the jar; pass --fixture PATH");
            }
            return mapper.readTree(in);
        }
    }

    /** Final expected state of every link: (uid, svc) -> {pod, persist} (persist -1 or TTL bound). */
    private record Expected(String uid, String svc, long pod, long ttlBound) {
    }

    // ----- write ---------------------------------------------------------------------------

    /** Deletes exactly the keys the fixture touches, then writes it. Returns differences (probes). */
    List<String> write() {
        deleteFixtureKeys();
        for (JsonNode s : doc.path("service_states")) {
            sr.setServiceState(ns, s.get("svc").asText(), s.get("pod").asLong(), s.get("state").asText()).join();
        }
        for (JsonNode l : doc.path("pod_loads")) {
            sr.setPodLoad(ns, l.get("svc").asText(), l.get("pod").asLong(), l.get("load").asLong(), l.get("state").asLong()).join();
        }
        for (JsonNode w : doc.path("workload_states")) {
            sr.setWorkloadState(ns, w.get("svc").asText(), w.get("state").asText()).join();
        }
        for (JsonNode l : doc.path("links")) {
            String uid = l.get("uid").asText(), svc = l.get("svc").asText();
            long pod = l.get("pod").asLong(), persist = l.get("persist").asLong();
            String via = l.path("via").asText("set_linked_pod");
            switch (via) {
                case "set_linked_pod" -> sr.setLinkedPod(ns, uid, svc, pod, persist).join();
                case "try_set_linked_pod" -> {
                    StatefulRedis.TrySet r = sr.trySetLinkedPod(ns, uid, svc, pod, persist).join();
                    expect("try_set_linked_pod(" + uid + ", " + svc + ")", new StatefulRedis.TrySet(true, pod), r);
                }
                case "set_linked_pod_if_absent" -> expect("set_linked_pod_if_absent(" + uid + ", " + svc + ")", pod,
                        sr.setLinkedPodIfAbsent(ns, uid, svc, pod, persist).join());
                default -> throw new HarnessException("CONFIG", "fixture: unknown via '" + via + "'");
            }
        }
        for (JsonNode r : doc.path("removed")) {
            String uid = r.get("uid").asText(), svc = r.get("svc").asText();
            sr.setLinkedPod(ns, uid, svc, r.get("pod").asLong(), -1).join();
            expect("remove_linked_pod(" + uid + ", " + svc + ")", true,
                    sr.removeLinkedPod(ns, uid, svc, r.get("keep").asLong()).join());
        }
        for (JsonNode c : doc.path("computed")) {
            String uid = c.get("uid").asText(), svc = c.get("svc").asText();
            StatefulRedis.RoutingPolicy policy = new StatefulRedis.RoutingPolicy(c.get("max_age_ms").asLong(),
                    c.get("max_state").asLong());
            expect("compute_linked_pod(" + uid + ", " + svc + ")", c.get("expect_pod").asLong(),
                    sr.computeLinkedPod(ns, uid, svc, c.get("persist").asLong(), policy).join());
        }
        for (JsonNode p : doc.path("probes")) {
            String op = p.get("op").asText(), uid = p.get("uid").asText(), svc = p.get("svc").asText();
            String what = op + "(" + uid + ", " + svc + ")";
            switch (op) {
                case "try_set_linked_pod" -> expect(what,
                        new StatefulRedis.TrySet(p.get("expect").get("ok").asBoolean(), p.get("expect").get("pod").asLong()),
                        sr.trySetLinkedPod(ns, uid, svc, p.get("pod").asLong(), p.get("persist").asLong()).join());
                case "set_linked_pod_if_absent" -> expect(what, p.get("expect").asLong(),
                        sr.setLinkedPodIfAbsent(ns, uid, svc, p.get("pod").asLong(), p.get("persist").asLong()).join());
                case "remove_linked_pod_with_id" -> expect(what, p.get("expect").asBoolean(),
                        sr.removeLinkedPodWithId(ns, uid, svc, p.get("keep").asLong(), p.get("pod").asLong()).join());
                default -> throw new HarnessException("CONFIG", "fixture: unknown probe op '" + op + "'");
            }
        }
        return differences;
    }

    private void deleteFixtureKeys() {
        Keys.Schema schema = sr.schema();
        Set<String> keys = new LinkedHashSet<>();
        for (String svc : services()) {
            keys.add(schema.stateKey(ns, svc));
            keys.add(schema.workloadKey(ns, svc));
            for (String uid : uids()) {
                keys.add(schema.linkKey(ns, uid, svc));
            }
        }
        for (String uid : uids()) {
            keys.add(schema.indexKey(ns, uid));
        }
        sr.raw().del(keys.toArray(new String[0])).toCompletableFuture().join();
    }

    // ----- check ---------------------------------------------------------------------------

    /** Reads everything back; returns the differences (empty: all matched). */
    List<String> check() {
        Map<String, Expected> links = expectedLinks();
        Keys.Schema schema = sr.schema();
        // Links one by one.
        for (Expected e : links.values()) {
            String what = "(" + e.uid + ", " + e.svc + ")";
            Long pod = e.pod < 0 ? null : e.pod;
            expect("get_linked_pod" + what, pod, sr.getLinkedPod(ns, e.uid, e.svc).join());
            expect("get_linked_pod_if_persist" + what, e.ttlBound == -1 ? pod : null,
                    sr.getLinkedPodIfPersist(ns, e.uid, e.svc).join());
            if (pod != null) {
                long pttl = sr.raw().pttl(schema.linkKey(ns, e.uid, e.svc)).toCompletableFuture().join();
                if (e.ttlBound == -1 && pttl != -1) {
                    differences.add("PTTL" + what + ": persistent link has PTTL " + pttl);
                } else if (e.ttlBound > 0 && (pttl <= 0 || pttl > e.ttlBound * 1000)) {
                    differences.add("PTTL" + what + ": expected 0 < PTTL <= " + e.ttlBound * 1000 + " ms, got " + pttl);
                }
            }
        }
        // Index of every uid.
        Set<String> allUids = new LinkedHashSet<>(uids());
        for (JsonNode u : doc.path("absent").path("uids")) {
            allUids.add(u.asText());
        }
        for (String uid : allUids) {
            Map<String, Long> index = new TreeMap<>();
            for (Expected e : links.values()) {
                if (e.uid.equals(uid) && e.ttlBound == -1 && e.pod >= 0) {
                    index.put(e.svc, e.pod);
                }
            }
            expect("get_link_service(" + uid + ")", index, sr.getLinkService(ns, uid).join());
        }
        // Batches per service, uids in input order.
        List<String> uidList = new ArrayList<>(allUids);
        for (String svc : services()) {
            Map<Long, List<String>> grouped = new TreeMap<>();
            for (String uid : uidList) {
                Expected e = links.get(uid + "\u0000" + svc);
                if (e != null && e.pod >= 0) {
                    grouped.computeIfAbsent(e.pod, p -> new ArrayList<>()).add(uid);
                }
            }
            expect("batch_get_linked_pod(" + svc + ")", grouped, sr.batchGetLinkedPod(ns, uidList, svc).join());
        }
        // Pod states.
        Map<String, Map<Long, String>> states = new LinkedHashMap<>();
        for (JsonNode s : doc.path("service_states")) {
            states.computeIfAbsent(s.get("svc").asText(), k -> new TreeMap<>()).put(s.get("pod").asLong(), s.get("state").asText());
        }
        states.forEach((svc, expected) -> expect("get_service_state(" + svc + ")", expected, sr.getServiceState(ns, svc).join()));
        // Pod loads.
        Map<String, Map<Long, long[]>> loads = new LinkedHashMap<>();
        for (JsonNode l : doc.path("pod_loads")) {
            loads.computeIfAbsent(l.get("svc").asText(), k -> new TreeMap<>())
                    .put(l.get("pod").asLong(), new long[] {l.get("load").asLong(), l.get("state").asLong()});
        }
        long nowMs = serverMillis();
        loads.forEach((svc, expected) -> {
            Map<Long, StatefulRedis.PodLoad> got = sr.getPodLoads(ns, svc, null).join();
            Map<Long, String> want = new TreeMap<>(), have = new TreeMap<>();
            expected.forEach((pod, v) -> want.put(pod, "load=" + v[0] + " state=" + v[1]));
            got.forEach((pod, v) -> {
                have.put(pod, "load=" + v.load() + " state=" + v.state());
                if (v.updatedMs() <= 0 || v.updatedMs() > nowMs) {
                    differences.add("get_pod_loads(" + svc + ") pod " + pod + ": updated_ms " + v.updatedMs()
                            + " is not in (0, server now " + nowMs + "]");
                }
            });
            expect("get_pod_loads(" + svc + ")", want, have);
        });
        // Workload states.
        Map<String, String> workloads = new TreeMap<>();
        for (JsonNode w : doc.path("workload_states")) {
            workloads.put(w.get("svc").asText(), w.get("state").asText());
        }
        List<String> svcList = new ArrayList<>(services());
        for (JsonNode s : doc.path("absent").path("services")) {
            svcList.add(s.asText());
        }
        for (String svc : svcList) {
            expect("get_workload_state(" + svc + ")", workloads.get(svc), sr.getWorkloadState(ns, svc).join());
        }
        expect("get_workload_states", workloads, sr.getWorkloadStates(ns, svcList).join());
        return differences;
    }

    private long serverMillis() {
        List<String> time = sr.raw().time().toCompletableFuture().join();
        return Long.parseLong(time.get(0)) * 1000 + Long.parseLong(time.get(1)) / 1000;
    }

    /** The state every link must be in after write(): pod -1 means "no link". */
    private Map<String, Expected> expectedLinks() {
        Map<String, Expected> out = new LinkedHashMap<>();
        for (JsonNode l : doc.path("links")) {
            put(out, new Expected(l.get("uid").asText(), l.get("svc").asText(), l.get("pod").asLong(), l.get("persist").asLong()));
        }
        for (JsonNode r : doc.path("removed")) {
            long keep = r.get("keep").asLong();
            put(out, new Expected(r.get("uid").asText(), r.get("svc").asText(), keep == -1 ? -1 : r.get("pod").asLong(), keep));
        }
        for (JsonNode c : doc.path("computed")) {
            put(out, new Expected(c.get("uid").asText(), c.get("svc").asText(), c.get("expect_pod").asLong(), c.get("persist").asLong()));
        }
        return out;
    }

    private static void put(Map<String, Expected> out, Expected e) {
        out.put(e.uid + "\u0000" + e.svc, e);
    }

    private Set<String> uids() {
        Set<String> out = new LinkedHashSet<>();
        for (String section : new String[] {"links", "removed", "computed", "probes"}) {
            for (JsonNode n : doc.path(section)) {
                out.add(n.get("uid").asText());
            }
        }
        return out;
    }

    private Set<String> services() {
        Set<String> out = new LinkedHashSet<>();
        for (String section : new String[] {"service_states", "pod_loads", "workload_states", "links", "removed", "computed", "probes"}) {
            for (JsonNode n : doc.path(section)) {
                out.add(n.get("svc").asText());
            }
        }
        return out;
    }

    private void expect(String what, Object expected, Object actual) {
        if (!Objects.equals(expected, actual)) {
            differences.add(what + ": expected " + expected + ", got " + actual);
        }
    }
}
