package dev.statefulredis.harness;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lettuce.core.protocol.ProtocolVersion;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Command-line entry of the Java (Lettuce) harness.
 *
 * <pre>
 * bench         --url URL --mode tuned|as-shipped --schema default|java --concurrency N --duration-s S
 *               [--uids 10000] [--services 4] [--pods 32] [--workload mixed|get|set] [--prepare] [--ns NS] [--warmup-s 1]
 * write-fixture --url URL --schema default|java --ns NS [--mode ..] [--fixture fixture.json]
 * check-fixture --url URL --schema default|java --ns NS [--mode ..] [--fixture fixture.json]
 * selftest      --url URL --schema default|java [--mode ..]   (edge cases in a fresh namespace)
 * vectors       --url URL --dir tests/vectors   (the conformance vectors; FLUSHALL per file)
 * </pre>
 *
 * Common options: --timeout-ms (command timeout, 5000), --protocol resp2|resp3 (Lettuce's
 * default when absent), --scripts-dir DIR (read the .lua files from a checkout instead of the jar).
 */
public final class Main {
    private static final String USAGE = String.join("\n",
            "usage: java -jar stateful-redis-java-harness.jar COMMAND [options]",
            "  bench         --url URL --mode tuned|as-shipped --schema default|java --concurrency N --duration-s S",
            "                [--uids 10000] [--services 4] [--pods 32] [--workload mixed|get|set] [--prepare] [--ns NS]",
            "                [--warmup-s 1]",
            "  write-fixture --url URL --schema default|java --ns NS [--mode tuned|as-shipped] [--fixture PATH]",
            "  check-fixture --url URL --schema default|java --ns NS [--mode tuned|as-shipped] [--fixture PATH]",
            "  selftest      --url URL --schema default|java [--mode tuned|as-shipped]   (edge cases; leaves no keys)",
            "  vectors       --url URL --dir DIR [--mode tuned|as-shipped]   (tests/vectors; FLUSHALL per file: a scratch Redis only)",
            "common: --timeout-ms 5000  --protocol resp2|resp3  --scripts-dir DIR");

    private static final Set<String> FLAGS = Set.of("prepare");
    private static final Set<String> KNOWN = Set.of("url", "mode", "schema", "concurrency", "duration-s", "uids",
            "services", "pods", "workload", "prepare", "warmup-s", "ns", "fixture", "dir", "timeout-ms", "protocol", "scripts-dir");

    public static void main(String[] args) {
        int code;
        try {
            code = run(args);
        } catch (HarnessException e) {
            System.err.println("error: " + e.code() + ": " + e.getMessage());
            code = e.code().equals("CONFIG") || e.code().equals("INVALID_ARGUMENT") ? 2 : 1;
        } catch (Exception e) {
            Throwable t = HarnessException.unwrap(e);
            System.err.println("error: " + HarnessException.codeOf(t) + ": " + t);
            code = 1;
        }
        System.out.flush();
        System.exit(code);
    }

    private static int run(String[] args) throws Exception {
        if (args.length == 0 || args[0].equals("-h") || args[0].equals("--help")) {
            System.out.println(USAGE);
            return args.length == 0 ? 2 : 0;
        }
        String command = args[0];
        Map<String, String> opts = parse(args);
        switch (command) {
            case "bench":
                return bench(opts);
            case "write-fixture":
            case "check-fixture":
                return fixture(command, opts);
            case "selftest":
                return selftest(opts);
            case "vectors":
                return vectors(opts);
            default:
                throw new HarnessException("CONFIG", "unknown command '" + command + "'\n" + USAGE);
        }
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> opts = new HashMap<>();
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) {
                throw new HarnessException("CONFIG", "unexpected argument '" + a + "'");
            }
            String name = a.substring(2);
            String value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            if (!KNOWN.contains(name)) {
                throw new HarnessException("CONFIG", "unknown option --" + name);
            }
            if (FLAGS.contains(name)) {
                opts.put(name, value == null ? "true" : value);
                continue;
            }
            if (value == null) {
                if (i + 1 >= args.length) {
                    throw new HarnessException("CONFIG", "--" + name + " needs a value");
                }
                value = args[++i];
            }
            opts.put(name, value);
        }
        return opts;
    }

    private static String need(Map<String, String> opts, String name) {
        String v = opts.get(name);
        if (v == null) {
            throw new HarnessException("CONFIG", "--" + name + " is required");
        }
        return v;
    }

    private static int intOpt(Map<String, String> opts, String name, int dflt) {
        String v = opts.get(name);
        try {
            return v == null ? dflt : Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new HarnessException("CONFIG", "--" + name + " must be an integer, not '" + v + "'");
        }
    }

    private static StatefulRedis connect(Map<String, String> opts, String defaultMode) throws Exception {
        String url = opts.getOrDefault("url", System.getenv().getOrDefault("STATEFUL_REDIS_URL", null));
        if (url == null) {
            throw new HarnessException("CONFIG", "--url is required (or STATEFUL_REDIS_URL)");
        }
        StatefulRedis.Mode mode = StatefulRedis.Mode.parse(opts.getOrDefault("mode", defaultMode));
        Keys.Schema schema = Keys.Schema.parse(need(opts, "schema"));
        String dir = opts.get("scripts-dir");
        Scripts scripts = Scripts.load(dir == null ? null : Path.of(dir));
        ProtocolVersion protocol = null;
        if (opts.containsKey("protocol")) {
            switch (opts.get("protocol")) {
                case "resp2" -> protocol = ProtocolVersion.RESP2;
                case "resp3" -> protocol = ProtocolVersion.RESP3;
                default -> throw new HarnessException("CONFIG", "--protocol must be resp2 or resp3");
            }
        }
        Duration timeout = Duration.ofMillis(intOpt(opts, "timeout-ms", 5000));
        return StatefulRedis.connect(url, mode, schema, scripts, timeout, protocol);
    }

    private static int bench(Map<String, String> opts) throws Exception {
        int concurrency = intOpt(opts, "concurrency", 1);
        double durationS;
        try {
            durationS = Double.parseDouble(opts.getOrDefault("duration-s", "5"));
        } catch (NumberFormatException e) {
            throw new HarnessException("CONFIG", "--duration-s must be a number");
        }
        if (concurrency < 1 || durationS <= 0) {
            throw new HarnessException("CONFIG", "--concurrency must be >= 1 and --duration-s > 0");
        }
        need(opts, "mode");
        String ns = opts.getOrDefault("ns", "bench:eu:logic");
        try (StatefulRedis sr = connect(opts, "tuned")) {
            Bench bench = new Bench(sr, ns, intOpt(opts, "uids", 10_000), intOpt(opts, "services", 4),
                    intOpt(opts, "pods", 32), opts.getOrDefault("workload", "mixed"));
            try {
                bench.warmup(Double.parseDouble(opts.getOrDefault("warmup-s", "1")));
            } catch (NumberFormatException e) {
                throw new HarnessException("CONFIG", "--warmup-s must be a number");
            }
            if (Boolean.parseBoolean(opts.getOrDefault("prepare", "false"))) {
                bench.prepare();
            }
            ObjectNode result = bench.run(concurrency, durationS, sr.mode().label(), sr.schema().label());
            System.out.println(new ObjectMapper().writeValueAsString(result));
            return 0;
        }
    }

    private static int selftest(Map<String, String> opts) throws Exception {
        try (StatefulRedis sr = connect(opts, "tuned")) {
            SelfTest test = new SelfTest(sr);
            List<String> failures = test.run();
            for (String f : failures) {
                System.out.println("FAIL " + f);
            }
            System.out.println("selftest (" + sr.mode().label() + ", schema " + sr.schema().label() + "): "
                    + test.passed() + " passed, " + failures.size() + " failed");
            return failures.isEmpty() ? 0 : 1;
        }
    }

    private static int vectors(Map<String, String> opts) throws Exception {
        Path dir = Path.of(need(opts, "dir"));
        if (!Files.isDirectory(dir)) {
            throw new HarnessException("CONFIG", "no directory " + dir);
        }
        opts.putIfAbsent("schema", "default");
        try (StatefulRedis sr = connect(opts, "tuned")) {
            String url = opts.getOrDefault("url", System.getenv().get("STATEFUL_REDIS_URL"));
            Vectors vectors = new Vectors(sr, url);
            List<String> failures = vectors.run(dir);
            for (String f : failures) {
                System.out.println("FAIL " + f);
            }
            System.out.println("vectors (" + sr.mode().label() + "): " + vectors.files() + " files, " + vectors.steps()
                    + " steps, " + failures.size() + " failed");
            return failures.isEmpty() ? 0 : 1;
        }
    }

    private static int fixture(String command, Map<String, String> opts) throws Exception {
        String ns = need(opts, "ns");
        String path = opts.get("fixture");
        if (path != null && !Files.exists(Path.of(path))) {
            throw new HarnessException("CONFIG", "no fixture at " + path);
        }
        JsonNode doc = Fixture.read(path == null ? null : Path.of(path));
        try (StatefulRedis sr = connect(opts, "tuned")) {
            Fixture fixture = new Fixture(doc, ns, sr);
            List<String> differences = command.equals("write-fixture") ? fixture.write() : fixture.check();
            for (String d : differences) {
                System.out.println("DIFF " + d);
            }
            String what = command.equals("write-fixture") ? "written" : "checked";
            System.out.println(command + ": schema " + sr.schema().label() + ", ns " + ns + ": "
                    + (differences.isEmpty() ? "fixture " + what + ", no differences" : differences.size() + " difference(s)"));
            return differences.isEmpty() ? 0 : 1;
        }
    }
}
