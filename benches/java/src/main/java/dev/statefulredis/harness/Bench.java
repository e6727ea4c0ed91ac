package dev.statefulredis.harness;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The PERFORMANCE.md workload: N operations in flight at once on the one shared
 * connection (N asynchronous loops, each issuing its next call when the previous one
 * completes), 1 s of warm-up, then a measured window.
 */
final class Bench {
    /** The operations of the mix, in the order of the per_op table. */
    enum Op {
        GET_LINKED_POD("get_linked_pod"),
        SET_LINKED_POD("set_linked_pod"),
        SET_LINKED_POD_IF_ABSENT("set_linked_pod_if_absent"),
        REMOVE_LINKED_POD("remove_linked_pod"),
        BATCH_GET_LINKED_POD("batch_get_linked_pod");

        final String label;

        Op(String label) {
            this.label = label;
        }
    }

    static final int BATCH_SIZE = 100;

    private final StatefulRedis sr;
    private final String ns;
    private final String[] uids;
    private final String[] services;
    private final int pods;
    private final String workload;
    private long warmupNanos = TimeUnit.SECONDS.toNanos(1);

    private final Histogram[] histograms = new Histogram[Op.values().length];
    private final Histogram all = newHistogram();
    private final AtomicLong errors = new AtomicLong();
    private final AtomicReference<String> firstError = new AtomicReference<>();
    private volatile boolean measuring;
    private volatile boolean stopping;

    Bench(StatefulRedis sr, String ns, int uidCount, int serviceCount, int pods, String workload) {
        this.sr = sr;
        this.ns = ns;
        this.uids = new String[uidCount];
        for (int i = 0; i < uidCount; i++) {
            uids[i] = "u" + i;
        }
        this.services = new String[serviceCount];
        for (int i = 0; i < serviceCount; i++) {
            services[i] = "svc" + i;
        }
        this.pods = pods;
        if (!workload.equals("mixed") && !workload.equals("get") && !workload.equals("set")) {
            throw new HarnessException("CONFIG", "unknown workload '" + workload + "' (mixed|get|set)");
        }
        this.workload = workload;
        for (int i = 0; i < histograms.length; i++) {
            histograms[i] = newHistogram();
        }
    }

    /** Warm-up before the measured window (default 1 s). */
    void warmup(double seconds) {
        if (seconds < 0) {
            throw new HarnessException("CONFIG", "--warmup-s must not be negative");
        }
        warmupNanos = (long) (seconds * 1e9);
    }

    private static Histogram newHistogram() {
        // Nanoseconds, 1 ns .. 60 s, 3 significant digits.
        return new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
    }

    /** FLUSHDB, then link half of the (uid, service) pairs: half persistent, half TTL 300. */
    void prepare() throws InterruptedException {
        sr.raw().flushdb().toCompletableFuture().join();
        Semaphore window = new Semaphore(256);
        AtomicLong failed = new AtomicLong();
        int pair = 0;
        for (int u = 0; u < uids.length; u++) {
            for (int s = 0; s < services.length; s++, pair++) {
                if (pair % 2 != 0) {
                    continue;
                }
                long persist = (pair / 2) % 2 == 0 ? -1 : 300;
                window.acquire();
                sr.setLinkedPod(ns, uids[u], services[s], pair % pods, persist).whenComplete((v, e) -> {
                    if (e != null) {
                        failed.incrementAndGet();
                    }
                    window.release();
                });
            }
        }
        window.acquire(256);
        if (failed.get() > 0) {
            throw new HarnessException("INTERNAL", failed.get() + " writes failed while preparing");
        }
    }

    /** Runs the workload and returns the result object (printed as one JSON line). */
    ObjectNode run(int concurrency, double durationS, String mode, String schema) throws InterruptedException, IOException {
        CountDownLatch done = new CountDownLatch(concurrency);
        for (int i = 0; i < concurrency; i++) {
            next(done);
        }
        TimeUnit.NANOSECONDS.sleep(warmupNanos);
        long cpu0 = processCpuNanos();
        long t0 = System.nanoTime();
        measuring = true;
        long durationNanos = (long) (durationS * 1e9);
        TimeUnit.NANOSECONDS.sleep(durationNanos);
        measuring = false;
        long t1 = System.nanoTime();
        long cpu1 = processCpuNanos();
        stopping = true;
        if (!done.await(30, TimeUnit.SECONDS)) {
            System.err.println("warning: some calls did not complete within 30 s after the run");
        }
        double elapsed = (t1 - t0) / 1e9;

        ObjectMapper mapper = new ObjectMapper();
        ObjectNode out = mapper.createObjectNode();
        out.put("impl", "java-lettuce");
        out.put("mode", mode);
        out.put("schema", schema);
        out.put("concurrency", concurrency);
        out.put("duration_s", round(elapsed, 3));
        long ops;
        synchronized (all) {
            ops = all.getTotalCount();
            out.put("ops", ops);
            out.put("ops_per_s", round(ops / elapsed, 1));
            out.put("errors", errors.get());
            out.put("p50_us", micros(all.getValueAtPercentile(50)));
            out.put("p99_us", micros(all.getValueAtPercentile(99)));
        }
        ObjectNode perOp = out.putObject("per_op");
        for (Op op : Op.values()) {
            Histogram h = histograms[op.ordinal()];
            synchronized (h) {
                if (h.getTotalCount() == 0) {
                    continue;
                }
                ObjectNode o = perOp.putObject(op.label);
                o.put("count", h.getTotalCount());
                o.put("p50_us", micros(h.getValueAtPercentile(50)));
                o.put("p99_us", micros(h.getValueAtPercentile(99)));
            }
        }
        out.put("cpu_time_s", round((cpu1 - cpu0) / 1e9, 3));
        out.put("cpu_time_total_s", round(processCpuNanos() / 1e9, 3));
        out.put("peak_rss_kib", peakRssKib());
        out.put("workload", workload);
        out.put("uids", uids.length);
        out.put("services", services.length);
        out.put("pods", pods);
        out.put("warmup_s", warmupNanos / 1e9);
        out.put("lettuce", lettuceVersion());
        out.put("java", System.getProperty("java.version"));
        if (firstError.get() != null) {
            out.put("first_error", firstError.get());
        }
        return out;
    }

    /** Issues one call; its completion records it and issues the next one. */
    private void next(CountDownLatch done) {
        if (stopping) {
            done.countDown();
            return;
        }
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        Op op = pick(rnd);
        String svc = services[rnd.nextInt(services.length)];
        long start = System.nanoTime();
        CompletableFuture<?> call;
        switch (op) {
            case GET_LINKED_POD -> call = sr.getLinkedPod(ns, uid(rnd), svc);
            case SET_LINKED_POD -> call = sr.setLinkedPod(ns, uid(rnd), svc, rnd.nextInt(pods), rnd.nextBoolean() ? -1 : 300);
            case SET_LINKED_POD_IF_ABSENT -> call = sr.setLinkedPodIfAbsent(ns, uid(rnd), svc, rnd.nextInt(pods),
                    rnd.nextBoolean() ? -1 : 300);
            case REMOVE_LINKED_POD -> call = sr.removeLinkedPod(ns, uid(rnd), svc, rnd.nextBoolean() ? -1 : 60);
            default -> {
                List<String> batch = new ArrayList<>(BATCH_SIZE);
                for (int i = 0; i < BATCH_SIZE; i++) {
                    batch.add(uid(rnd));
                }
                call = sr.batchGetLinkedPod(ns, batch, svc);
            }
        }
        call.whenComplete((v, e) -> {
            long end = System.nanoTime();
            if (measuring) {
                record(op, end - start, e);
            }
            next(done);
        });
    }

    private Op pick(ThreadLocalRandom rnd) {
        switch (workload) {
            case "get":
                return Op.GET_LINKED_POD;
            case "set":
                return Op.SET_LINKED_POD;
            default:
                int r = rnd.nextInt(100);
                if (r < 40) {
                    return Op.GET_LINKED_POD;
                } else if (r < 65) {
                    return Op.SET_LINKED_POD;
                } else if (r < 80) {
                    return Op.SET_LINKED_POD_IF_ABSENT;
                } else if (r < 90) {
                    return Op.REMOVE_LINKED_POD;
                }
                return Op.BATCH_GET_LINKED_POD;
        }
    }

    private String uid(ThreadLocalRandom rnd) {
        return uids[rnd.nextInt(uids.length)];
    }

    private void record(Op op, long nanos, Throwable error) {
        if (error != null) {
            errors.incrementAndGet();
            firstError.compareAndSet(null, op.label + ": " + HarnessException.codeOf(error) + " "
                    + HarnessException.unwrap(error).getMessage());
            return;
        }
        long v = Math.max(1, Math.min(nanos, TimeUnit.SECONDS.toNanos(60)));
        Histogram h = histograms[op.ordinal()];
        synchronized (h) {
            h.recordValue(v);
        }
        synchronized (all) {
            all.recordValue(v);
        }
    }

    private static double micros(long nanos) {
        return round(nanos / 1000.0, 1);
    }

    private static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }

    /** Lettuce's version, from the Maven metadata the shaded jar keeps. */
    static String lettuceVersion() {
        try (java.io.InputStream in = Bench.class.getResourceAsStream("/META-INF/maven/io.lettuce/lettuce-core/pom.properties")) {
            if (in != null) {
                java.util.Properties p = new java.util.Properties();
                p.load(in);
                return p.getProperty("version");
            }
        } catch (IOException e) {
            // fall through
        }
        return "unknown";
    }

    static long processCpuNanos() {
        java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            return sun.getProcessCpuTime();
        }
        return -1;
    }

    /** VmHWM of /proc/self/status, in KiB (-1 where unavailable). */
    static long peakRssKib() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | NumberFormatException e) {
            // fall through
        }
        return -1;
    }
}
