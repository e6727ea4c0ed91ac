// go-redis contender of benches/contenders.py: the PERFORMANCE.md mixed workload
// written the way the Go version calls Redis: github.com/redis/go-redis/v9 with its
// default connection pool, GET and MGET for the reads, and the link scripts by
// EVALSHA (redis.Script: EVALSHA, EVAL on NOSCRIPT). The script text is the one the
// Rust core and the Java harness send (core/src/scripts.rs, Scripts.java): the line
// "local MAX_POD = '<max>'", prelude.lua, a newline, the script's file, read from
// --scripts-dir. The data set is the one `stateful-redis bench` prepares; the driver
// writes it first.
//
//	go build -o ../../target/go/go-redis-bench . && \
//	  go-redis-bench --url redis://127.0.0.1:6399 --concurrency 64 --duration-s 5
//
// Mix (as cli/src/workload.rs): 40% get, 25% set, 15% set-if-absent, 10% remove,
// 10% batch-get of 100 random uids; 10,000 uids x 4 services, 32 pods; half of the
// writes persistent, half TTL 300; removes keep -1 or 60. N goroutines each issue
// their next call when the previous one returns. Output: one JSON line.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	ns       = "bench:region:logic"
	uids     = 10000
	pods     = 32
	batchLen = 100
)

var services = []string{"svc0", "svc1", "svc2", "svc3"}

// keys returns the link and index keys of uid for svc in the given schema
// (core/src/keys.rs; the names used here need no encoding).
func keys(schema, uid, svc string) (link, index string) {
	if schema == "java" {
		return "slug-lk:{" + ns + ":" + uid + ":" + svc + "}", "slug-lk:{" + ns + ":" + uid + "}"
	}
	index = "sf:{" + ns + ":lk:" + uid + "}"
	return index + svc, index
}

func loadScript(dir, header, name string) *redis.Script {
	read := func(file string) string {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			fmt.Fprintln(os.Stderr, "go-redis-bench:", err)
			os.Exit(2)
		}
		return string(b)
	}
	return redis.NewScript(header + read("prelude.lua") + "\n" + read(name+".lua"))
}

type result struct {
	lat    []int64
	errors int
}

func caller(ctx context.Context, rdb *redis.Client, s map[string]*redis.Script, schema string,
	worker int, deadline time.Time) result {
	rng := rand.New(rand.NewPCG(0x5eed, uint64(worker)))
	var r result
	batch := make([]string, batchLen)
	for time.Now().Before(deadline) {
		pick := rng.IntN(100)
		uid := "u" + strconv.Itoa(rng.IntN(uids))
		svc := services[rng.IntN(len(services))]
		pod := rng.IntN(pods)
		persist := 300
		if rng.IntN(2) == 0 {
			persist = -1
		}
		if pick >= 90 {
			for i := range batch {
				batch[i], _ = keys(schema, "u"+strconv.Itoa(rng.IntN(uids)), svc)
			}
		}
		link, index := keys(schema, uid, svc)
		started := time.Now()
		var err error
		switch {
		case pick < 40:
			err = rdb.Get(ctx, link).Err()
			if err == redis.Nil {
				err = nil
			}
		case pick < 65:
			err = s["set_linked_pod"].Run(ctx, rdb, []string{link, index}, svc, pod, persist).Err()
		case pick < 80:
			err = s["set_linked_pod_if_absent"].Run(ctx, rdb, []string{link, index}, svc, pod, persist).Err()
		case pick < 90:
			keep := 60
			if rng.IntN(2) == 0 {
				keep = -1
			}
			err = s["remove_linked_pod"].Run(ctx, rdb, []string{link, index}, svc, keep, "").Err()
		default:
			err = rdb.MGet(ctx, batch...).Err()
		}
		if err == redis.Nil {
			err = nil // a script that returns nil (no previous pod)
		}
		r.lat = append(r.lat, time.Since(started).Nanoseconds())
		if err != nil {
			r.errors++
		}
	}
	return r
}

func run(ctx context.Context, rdb *redis.Client, s map[string]*redis.Script, schema string,
	concurrency int, d time.Duration) ([]int64, int, float64) {
	started := time.Now()
	deadline := started.Add(d)
	results := make([]result, concurrency)
	var wg sync.WaitGroup
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			results[w] = caller(ctx, rdb, s, schema, w, deadline)
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(started).Seconds()
	var all []int64
	errors := 0
	for _, r := range results {
		all = append(all, r.lat...)
		errors += r.errors
	}
	return all, errors, elapsed
}

func main() {
	url := flag.String("url", "redis://127.0.0.1:6379", "Redis URL")
	concurrency := flag.Int("concurrency", 1, "goroutines, each with one call in flight")
	duration := flag.Float64("duration-s", 5, "measured seconds")
	warmup := flag.Float64("warmup-s", 1, "warm-up seconds")
	scriptsDir := flag.String("scripts-dir", "core/src/scripts", "the core's .lua files")
	maxPod := flag.Int64("max-pod", 2147483647, "MAX_POD of the core (core/src/validate.rs)")
	schema := flag.String("schema", "default", "key schema: default (the Go version's keys) or java")
	flag.Parse()

	opts, err := redis.ParseURL(*url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-redis-bench:", err)
		os.Exit(2)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	ctx := context.Background()
	header := fmt.Sprintf("local MAX_POD = '%d'\n", *maxPod)
	s := map[string]*redis.Script{}
	for _, name := range []string{"set_linked_pod", "set_linked_pod_if_absent", "remove_linked_pod"} {
		s[name] = loadScript(*scriptsDir, header, name)
		// The driver's prepare ran the core, which loaded its scripts: the same text
		// has the same SHA1, so it is already there.
		if exists, err := rdb.ScriptExists(ctx, s[name].Hash()).Result(); err != nil || !exists[0] {
			fmt.Fprintf(os.Stderr, "go-redis-bench: note: %s (%s) was not loaded by the core: its text differs or no prepare ran\n", name, s[name].Hash())
		}
	}
	if *warmup > 0 {
		run(ctx, rdb, s, *schema, *concurrency, time.Duration(*warmup*float64(time.Second)))
	}
	lat, errors, elapsed := run(ctx, rdb, s, *schema, *concurrency, time.Duration(*duration*float64(time.Second)))
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		i := int(p * float64(len(lat)))
		if i >= len(lat) {
			i = len(lat) - 1
		}
		return float64(lat[i]) / 1000
	}
	out, _ := json.Marshal(map[string]any{
		"impl": "go-redis", "concurrency": *concurrency, "duration_s": elapsed, "ops": len(lat),
		"errors": errors, "ops_per_s": float64(len(lat)) / elapsed, "p50_us": q(0.5), "p99_us": q(0.99),
		"pool_size": rdb.Options().PoolSize, "schema": *schema,
	})
	fmt.Println(string(out))
}
