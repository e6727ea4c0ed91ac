package dev.statefulredis.harness;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * vectors: the conformance vectors of {@code tests/vectors} run through {@link StatefulRedis},
 * with the semantics of the Rust runner ({@code core/tests/common/vectors.rs}): FLUSHALL per
 * file, {@code expect} / {@code error} codes, matchers {@code $any} {@code $range} {@code $regex},
 * {@code $repeat} arguments, raw {@code redis} steps (sent on a separate plain RESP2 socket, so
 * replies are the README's nil / integer / string / array), {@code sleep_ms}. Arguments of the
 * wrong JSON type are refused with INVALID_ARGUMENT before anything is sent.
 */
final class Vectors {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private final StatefulRedis sr;
    private final Resp raw;
    private final List<String> failures = new ArrayList<>();
    private int steps;
    private int files;

    Vectors(StatefulRedis sr, String url) throws IOException {
        this.sr = sr;
        this.raw = new Resp(url);
    }

    int steps() {
        return steps;
    }

    int files() {
        return files;
    }

    List<String> run(Path dir) throws Exception {
        List<Path> paths;
        try (Stream<Path> s = Files.list(dir)) {
            paths = s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
        ObjectMapper mapper = new ObjectMapper();
        for (Path file : paths) {
            files++;
            String name = file.getFileName().toString();
            JsonNode vector = mapper.readTree(Files.readAllBytes(file));
            raw.call(List.of("FLUSHALL"));
            int i = 0;
            for (JsonNode step : vector.path("steps")) {
                String at = name + " step " + i++;
                steps++;
                if (step.has("sleep_ms")) {
                    Thread.sleep(step.get("sleep_ms").asLong());
                } else if (step.has("redis")) {
                    List<String> cmd = new ArrayList<>();
                    step.get("redis").forEach(a -> cmd.add(a.asText()));
                    JsonNode reply = raw.call(cmd);
                    if (step.has("expect") && !matches(step.get("expect"), reply)) {
                        failures.add(at + ": " + cmd + " gave " + reply + ", expected " + step.get("expect"));
                    }
                } else {
                    String op = step.get("op").asText();
                    JsonNode result = null;
                    String code = null;
                    String message = null;
                    try {
                        result = call(op, expand(step.path("args")));
                    } catch (Exception e) {
                        Throwable t = HarnessException.unwrap(e);
                        code = HarnessException.codeOf(t);
                        message = String.valueOf(t.getMessage());
                    }
                    if (step.has("error")) {
                        String want = step.get("error").asText();
                        if (code == null) {
                            failures.add(at + ": " + op + " returned " + result + ", expected " + want);
                        } else if (!code.equals(want)) {
                            failures.add(at + ": " + op + " failed with " + code + " (" + message + "), expected " + want);
                        }
                    } else if (code != null) {
                        failures.add(at + ": " + op + " failed: " + code + ": " + message);
                    } else if (!step.has("expect")) {
                        failures.add(at + ": no expect");
                    } else if (!matches(step.get("expect"), result)) {
                        failures.add(at + ": " + op + " gave " + result + ", expected " + step.get("expect"));
                    }
                }
            }
        }
        raw.close();
        return failures;
    }

    /** {"$repeat": [s, n]} -> s repeated n times, anywhere in the arguments. */
    static JsonNode expand(JsonNode v) {
        if (v.isObject()) {
            if (v.has("$repeat")) {
                JsonNode spec = v.get("$repeat");
                return F.textNode(spec.get(0).asText().repeat(spec.get(1).asInt()));
            }
            ObjectNode out = F.objectNode();
            v.fields().forEachRemaining(e -> out.set(e.getKey(), expand(e.getValue())));
            return out;
        }
        if (v.isArray()) {
            ArrayNode out = F.arrayNode();
            v.forEach(x -> out.add(expand(x)));
            return out;
        }
        return v;
    }

    static boolean matches(JsonNode expected, JsonNode actual) {
        if (expected.isObject()) {
            if (expected.has("$any")) {
                return true;
            }
            if (expected.has("$range")) {
                JsonNode r = expected.get("$range");
                return actual != null && actual.isIntegralNumber() && actual.asLong() >= r.get(0).asLong()
                        && actual.asLong() <= r.get(1).asLong();
            }
            if (expected.has("$regex")) {
                return actual != null && actual.isTextual()
                        && Pattern.compile(expected.get("$regex").asText()).matcher(actual.asText()).find();
            }
            if (actual == null || !actual.isObject() || actual.size() != expected.size()) {
                return false;
            }
            Iterator<Map.Entry<String, JsonNode>> it = expected.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                if (!actual.has(e.getKey()) || !matches(e.getValue(), actual.get(e.getKey()))) {
                    return false;
                }
            }
            return true;
        }
        if (expected.isArray()) {
            if (actual == null || !actual.isArray() || actual.size() != expected.size()) {
                return false;
            }
            for (int i = 0; i < expected.size(); i++) {
                if (!matches(expected.get(i), actual.get(i))) {
                    return false;
                }
            }
            return true;
        }
        if (actual == null) {
            return expected.isNull();
        }
        if (expected.isIntegralNumber() && actual.isIntegralNumber()) {
            return expected.asLong() == actual.asLong();
        }
        return expected.equals(actual);
    }

    // ----- typed arguments (a wrong JSON type is INVALID_ARGUMENT, as in the Rust runner) ------

    private static final Set<String> KNOWN = Set.of("ns", "svc", "uid", "pod", "persist", "keep", "state", "load",
            "fresh_since_ms", "uids", "svcs", "policy");

    private static String str(JsonNode a, String name) {
        JsonNode v = a.get(name);
        if (v == null || v.isNull()) {
            return "";
        }
        if (!v.isTextual()) {
            throw HarnessException.invalid("wrong argument type: " + name + " must be a string, got " + v);
        }
        return v.asText();
    }

    private static long num(JsonNode a, String name) {
        JsonNode v = a.get(name);
        if (v == null || v.isNull()) {
            return 0;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw HarnessException.invalid("wrong argument type: " + name + " must be an integer, got " + v);
        }
        return v.asLong();
    }

    private static List<String> strings(JsonNode a, String name) {
        JsonNode v = a.get(name);
        if (v == null || !v.isArray()) {
            throw HarnessException.invalid("wrong argument type: " + name + " must be an array of strings");
        }
        List<String> out = new ArrayList<>();
        for (JsonNode x : v) {
            if (!x.isTextual()) {
                throw HarnessException.invalid("wrong argument type: " + name + " must be an array of strings, got " + x);
            }
            out.add(x.asText());
        }
        return out;
    }

    private static StatefulRedis.RoutingPolicy policy(JsonNode a) {
        JsonNode p = a.get("policy");
        if (p == null || p.isNull()) {
            return StatefulRedis.RoutingPolicy.DEFAULT;
        }
        if (!p.isObject()) {
            throw HarnessException.invalid("wrong argument type: policy must be an object");
        }
        p.fieldNames().forEachRemaining(f -> {
            if (!f.equals("max_age_ms") && !f.equals("max_state")) {
                throw HarnessException.invalid("unknown policy field " + f);
            }
        });
        long maxAge = p.has("max_age_ms") ? num(p, "max_age_ms") : StatefulRedis.RoutingPolicy.DEFAULT.maxAgeMs();
        long maxState = p.has("max_state") ? num(p, "max_state") : StatefulRedis.RoutingPolicy.DEFAULT.maxState();
        return new StatefulRedis.RoutingPolicy(maxAge, maxState);
    }

    private static String[] required(String op) {
        return switch (op) {
            case "set_service_state" -> new String[] {"svc", "pod", "state"};
            case "get_service_state", "get_workload_state", "get_pod_loads" -> new String[] {"svc"};
            case "set_workload_state" -> new String[] {"svc", "state"};
            case "get_workload_states" -> new String[] {"svcs"};
            case "set_pod_load" -> new String[] {"svc", "pod", "load", "state"};
            case "set_linked_pod", "try_set_linked_pod", "set_linked_pod_if_absent" -> new String[] {"uid", "svc", "pod", "persist"};
            case "get_linked_pod", "get_linked_pod_if_persist" -> new String[] {"uid", "svc"};
            case "batch_get_linked_pod" -> new String[] {"uids", "svc"};
            case "remove_linked_pod" -> new String[] {"uid", "svc", "keep"};
            case "remove_linked_pod_with_id" -> new String[] {"uid", "svc", "keep", "pod"};
            case "get_link_service" -> new String[] {"uid"};
            case "compute_linked_pod" -> new String[] {"uid", "svc", "persist"};
            default -> throw new HarnessException("CONFIG", "unknown operation " + op);
        };
    }

    /** Calls one operation by name with JSON arguments; the result as JSON. */
    private JsonNode call(String op, JsonNode a) {
        for (String name : required(op)) {
            if (a.get(name) == null || a.get(name).isNull()) {
                throw HarnessException.invalid(name + " is required");
            }
        }
        a.fieldNames().forEachRemaining(f -> {
            if (!KNOWN.contains(f)) {
                throw HarnessException.invalid("unknown argument " + f);
            }
        });
        if (a.get("ns") == null || a.get("ns").isNull()) {
            throw HarnessException.invalid("ns is required");
        }
        // Type-check every argument that is present, whatever the operation.
        String ns = str(a, "ns"), svc = str(a, "svc"), uid = str(a, "uid");
        long pod = num(a, "pod"), persist = num(a, "persist"), keep = num(a, "keep"), load = num(a, "load");
        Long fresh = a.get("fresh_since_ms") == null || a.get("fresh_since_ms").isNull() ? null : num(a, "fresh_since_ms");
        List<String> uids = a.has("uids") ? strings(a, "uids") : null;
        List<String> svcs = a.has("svcs") ? strings(a, "svcs") : null;
        StatefulRedis.RoutingPolicy policy = policy(a);
        return switch (op) {
            case "set_service_state" -> {
                sr.setServiceState(ns, svc, pod, str(a, "state")).join();
                yield F.nullNode();
            }
            case "get_service_state" -> {
                ObjectNode out = F.objectNode();
                sr.getServiceState(ns, svc).join().forEach((k, v) -> out.put(Long.toString(k), v));
                yield out;
            }
            case "set_workload_state" -> {
                sr.setWorkloadState(ns, svc, str(a, "state")).join();
                yield F.nullNode();
            }
            case "get_workload_state" -> text(sr.getWorkloadState(ns, svc).join());
            case "get_workload_states" -> {
                ObjectNode out = F.objectNode();
                sr.getWorkloadStates(ns, svcs).join().forEach(out::put);
                yield out;
            }
            case "set_pod_load" -> F.numberNode(sr.setPodLoad(ns, svc, pod, load, num(a, "state")).join());
            case "get_pod_loads" -> {
                ObjectNode out = F.objectNode();
                sr.getPodLoads(ns, svc, fresh).join().forEach((k, v) -> out.set(Long.toString(k),
                        F.objectNode().put("load", v.load()).put("state", v.state()).put("updated_ms", v.updatedMs())));
                yield out;
            }
            case "set_linked_pod" -> pod(sr.setLinkedPod(ns, uid, svc, pod, persist).join());
            case "try_set_linked_pod" -> {
                StatefulRedis.TrySet r = sr.trySetLinkedPod(ns, uid, svc, pod, persist).join();
                yield F.objectNode().put("ok", r.ok()).put("pod", r.pod());
            }
            case "set_linked_pod_if_absent" -> pod(sr.setLinkedPodIfAbsent(ns, uid, svc, pod, persist).join());
            case "get_linked_pod" -> pod(sr.getLinkedPod(ns, uid, svc).join());
            case "get_linked_pod_if_persist" -> pod(sr.getLinkedPodIfPersist(ns, uid, svc).join());
            case "batch_get_linked_pod" -> {
                ObjectNode out = F.objectNode();
                sr.batchGetLinkedPod(ns, uids, svc).join().forEach((k, v) -> {
                    ArrayNode list = out.putArray(Long.toString(k));
                    v.forEach(list::add);
                });
                yield out;
            }
            case "remove_linked_pod" -> F.booleanNode(sr.removeLinkedPod(ns, uid, svc, keep).join());
            case "remove_linked_pod_with_id" -> F.booleanNode(sr.removeLinkedPodWithId(ns, uid, svc, keep, pod).join());
            case "get_link_service" -> {
                ObjectNode out = F.objectNode();
                sr.getLinkService(ns, uid).join().forEach(out::put);
                yield out;
            }
            case "compute_linked_pod" -> pod(sr.computeLinkedPod(ns, uid, svc, persist, policy).join());
            default -> throw new HarnessException("CONFIG", "unknown operation " + op);
        };
    }

    private static JsonNode pod(Long pod) {
        return pod == null ? F.nullNode() : F.numberNode(pod);
    }

    private static JsonNode text(String s) {
        return s == null ? F.nullNode() : F.textNode(s);
    }

    /** A minimal RESP2 connection for the raw steps (replies as the README's JSON). */
    static final class Resp implements AutoCloseable {
        private final Socket socket;
        private final InputStream in;
        private final OutputStream out;

        Resp(String url) throws IOException {
            URI uri = URI.create(url);
            socket = new Socket(uri.getHost(), uri.getPort() < 0 ? 6379 : uri.getPort());
            socket.setSoTimeout(10_000);
            in = new BufferedInputStream(socket.getInputStream());
            out = socket.getOutputStream();
            String path = uri.getPath();
            if (path != null && path.length() > 1) {
                call(List.of("SELECT", path.substring(1)));
            }
        }

        JsonNode call(List<String> args) throws IOException {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            buf.writeBytes(("*" + args.size() + "\r\n").getBytes(StandardCharsets.US_ASCII));
            for (String a : args) {
                byte[] b = a.getBytes(StandardCharsets.UTF_8);
                buf.writeBytes(("$" + b.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
                buf.writeBytes(b);
                buf.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
            }
            out.write(buf.toByteArray());
            out.flush();
            return read();
        }

        private String line() throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            int c;
            while ((c = in.read()) != '\r') {
                if (c < 0) {
                    throw new IOException("connection closed");
                }
                b.write(c);
            }
            in.read(); // '\n'
            return b.toString(StandardCharsets.UTF_8);
        }

        private JsonNode read() throws IOException {
            int type = in.read();
            String l = line();
            switch (type) {
                case '+':
                    return F.textNode(l);
                case '-':
                    throw new IOException("redis error: " + l);
                case ':':
                    return F.numberNode(Long.parseLong(l));
                case '$': {
                    int n = Integer.parseInt(l);
                    if (n < 0) {
                        return F.nullNode();
                    }
                    byte[] b = in.readNBytes(n);
                    in.readNBytes(2);
                    return F.textNode(new String(b, StandardCharsets.UTF_8));
                }
                case '*': {
                    int n = Integer.parseInt(l);
                    if (n < 0) {
                        return F.nullNode();
                    }
                    ArrayNode arr = F.arrayNode();
                    for (int i = 0; i < n; i++) {
                        arr.add(read());
                    }
                    return arr;
                }
                default:
                    throw new IOException("unexpected RESP type " + (char) type);
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
