/* Runs every conformance vector of tests/vectors/ (format:
 * tests/vectors/README.md) through the C ABI, against the test server.
 *
 * C is statically typed: the runner's own conversion of JSON arguments into C
 * values is the "conversion step" of the README. Arguments of the wrong JSON
 * type, missing required arguments, and strings a C string cannot carry (an
 * embedded NUL) are refused there with SR_INVALID_ARGUMENT, as a C caller could
 * not express them either; everything else goes through the library. */
#include <dirent.h>
#include <regex.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "test_util.h"

static SrExecutor *exec;
static redisContext *redis;

/* ----- arguments ------------------------------------------------------------ */

/* A conversion failure: no library call is made. */
static SrStatus conversion_error(const char *what, const char *name) {
    fprintf(stderr, "    (conversion step: %s %s)\n", name, what);
    return SR_INVALID_ARGUMENT;
}

static SrStatus get_str(json_t *args, const char *name, const char **out) {
    json_t *v = json_object_get(args, name);
    if (v == NULL || json_is_null(v)) return conversion_error("is required", name);
    if (!json_is_string(v)) return conversion_error("is not a string", name);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return conversion_error("contains a NUL byte", name);
    *out = json_string_value(v);
    return SR_OK;
}

static SrStatus get_int(json_t *args, const char *name, int64_t *out) {
    json_t *v = json_object_get(args, name);
    if (v == NULL || json_is_null(v)) return conversion_error("is required", name);
    if (!json_is_integer(v)) return conversion_error("is not an integer", name);
    *out = (int64_t)json_integer_value(v);
    return SR_OK;
}

/* An array of strings; *out is malloc'ed (free it). */
static SrStatus get_strs(json_t *args, const char *name, const char ***out, size_t *len) {
    json_t *v = json_object_get(args, name), *item;
    size_t i;
    if (v == NULL || json_is_null(v)) return conversion_error("is required", name);
    if (!json_is_array(v)) return conversion_error("is not an array", name);
    *len = json_array_size(v);
    *out = (const char **)calloc(*len ? *len : 1, sizeof(char *));
    json_array_foreach(v, i, item) {
        if (!json_is_string(item) || strlen(json_string_value(item)) != json_string_length(item)) {
            free((void *)*out);
            *out = NULL;
            return conversion_error("holds something that is not a C string", name);
        }
        (*out)[i] = json_string_value(item);
    }
    return SR_OK;
}

static SrStatus get_policy(json_t *args, SrRoutingPolicy *policy, bool *given) {
    json_t *v = json_object_get(args, "policy");
    const char *key;
    json_t *value;
    *policy = sr_routing_policy_default();
    *given = false;
    if (v == NULL || json_is_null(v)) return SR_OK;
    if (!json_is_object(v)) return conversion_error("is not an object", "policy");
    json_object_foreach(v, key, value) {
        if (!json_is_integer(value)) return conversion_error("has a non-integer field", "policy");
        if (strcmp(key, "max_age_ms") == 0) policy->max_age_ms = json_integer_value(value);
        else if (strcmp(key, "max_state") == 0) policy->max_state = json_integer_value(value);
        else return conversion_error("has an unknown field", "policy");
    }
    *given = true;
    return SR_OK;
}

/* ----- results as JSON (tests/vectors/README.md "Results") ------------------ */

static json_t *pod_or_null(int64_t pod) {
    return pod == SR_NO_POD ? json_null() : json_integer(pod);
}

static char *pod_key(int64_t pod, char *buf, size_t size) {
    snprintf(buf, size, "%lld", (long long)pod);
    return buf;
}

#define TRY(expr)                          \
    do {                                   \
        SrStatus _st = (expr);             \
        if (_st != SR_OK) return _st;      \
    } while (0)

/* Calls operation `op` with JSON arguments; on SR_OK *result is its JSON. */
static SrStatus call(const char *op, json_t *a, json_t **result) {
    const char *ns, *svc, *uid, *state;
    int64_t pod, persist, keep, load, istate;
    char key[32];
    size_t i, j;
    TRY(get_str(a, "ns", &ns));
    if (strcmp(op, "set_service_state") == 0) {
        TRY(get_str(a, "svc", &svc));
        TRY(get_int(a, "pod", &pod));
        TRY(get_str(a, "state", &state));
        TRY(sr_set_service_state(exec, ns, svc, pod, state));
        *result = json_null();
    } else if (strcmp(op, "get_service_state") == 0) {
        SrPodStates *s;
        TRY(get_str(a, "svc", &svc));
        TRY(sr_get_service_state(exec, ns, svc, &s));
        *result = json_object();
        for (i = 0; i < s->len; i++)
            json_object_set_new(*result, pod_key(s->items[i].pod, key, sizeof key),
                                json_string(s->items[i].state));
        sr_pod_states_free(s);
    } else if (strcmp(op, "set_workload_state") == 0) {
        TRY(get_str(a, "svc", &svc));
        TRY(get_str(a, "state", &state));
        TRY(sr_set_workload_state(exec, ns, svc, state));
        *result = json_null();
    } else if (strcmp(op, "get_workload_state") == 0) {
        char *s;
        TRY(get_str(a, "svc", &svc));
        TRY(sr_get_workload_state(exec, ns, svc, &s));
        *result = s ? json_string(s) : json_null();
        sr_string_free(s);
    } else if (strcmp(op, "get_workload_states") == 0) {
        const char **svcs;
        size_t n;
        SrServiceStates *s;
        SrStatus st;
        TRY(get_strs(a, "svcs", &svcs, &n));
        st = sr_get_workload_states(exec, ns, svcs, n, &s);
        free((void *)svcs);
        TRY(st);
        *result = json_object();
        for (i = 0; i < s->len; i++)
            json_object_set_new(*result, s->items[i].svc, json_string(s->items[i].state));
        sr_service_states_free(s);
    } else if (strcmp(op, "set_pod_load") == 0) {
        int64_t stamp;
        TRY(get_str(a, "svc", &svc));
        TRY(get_int(a, "pod", &pod));
        TRY(get_int(a, "load", &load));
        TRY(get_int(a, "state", &istate));
        TRY(sr_set_pod_load(exec, ns, svc, pod, load, istate, &stamp));
        *result = json_integer(stamp);
    } else if (strcmp(op, "get_pod_loads") == 0) {
        SrPodLoads *l;
        int64_t since;
        json_t *fresh = json_object_get(a, "fresh_since_ms");
        bool has_since = fresh != NULL && !json_is_null(fresh);
        TRY(get_str(a, "svc", &svc));
        if (has_since) TRY(get_int(a, "fresh_since_ms", &since));
        TRY(sr_get_pod_loads(exec, ns, svc, has_since ? &since : NULL, &l));
        *result = json_object();
        for (i = 0; i < l->len; i++)
            json_object_set_new(*result, pod_key(l->items[i].pod, key, sizeof key),
                                json_pack("{s:I,s:I,s:I}", "load", (json_int_t)l->items[i].load,
                                          "state", (json_int_t)l->items[i].state, "updated_ms",
                                          (json_int_t)l->items[i].updated_ms));
        sr_pod_loads_free(l);
    } else if (strcmp(op, "set_linked_pod") == 0 || strcmp(op, "try_set_linked_pod") == 0 ||
               strcmp(op, "set_linked_pod_if_absent") == 0) {
        int64_t out;
        TRY(get_str(a, "uid", &uid));
        TRY(get_str(a, "svc", &svc));
        TRY(get_int(a, "pod", &pod));
        TRY(get_int(a, "persist", &persist));
        if (strcmp(op, "set_linked_pod") == 0) {
            TRY(sr_set_linked_pod(exec, ns, uid, svc, pod, persist, &out));
            *result = pod_or_null(out);
        } else if (strcmp(op, "try_set_linked_pod") == 0) {
            bool ok;
            TRY(sr_try_set_linked_pod(exec, ns, uid, svc, pod, persist, &ok, &out));
            *result = json_pack("{s:b,s:I}", "ok", ok, "pod", (json_int_t)out);
        } else {
            TRY(sr_set_linked_pod_if_absent(exec, ns, uid, svc, pod, persist, &out));
            *result = json_integer(out);
        }
    } else if (strcmp(op, "get_linked_pod") == 0 || strcmp(op, "get_linked_pod_if_persist") == 0) {
        int64_t out;
        TRY(get_str(a, "uid", &uid));
        TRY(get_str(a, "svc", &svc));
        if (strcmp(op, "get_linked_pod") == 0) TRY(sr_get_linked_pod(exec, ns, uid, svc, &out));
        else TRY(sr_get_linked_pod_if_persist(exec, ns, uid, svc, &out));
        *result = pod_or_null(out);
    } else if (strcmp(op, "batch_get_linked_pod") == 0) {
        const char **uids;
        size_t n;
        SrPodGroups *g;
        SrStatus st;
        TRY(get_strs(a, "uids", &uids, &n));
        st = get_str(a, "svc", &svc);
        if (st == SR_OK) st = sr_batch_get_linked_pod(exec, ns, uids, n, svc, &g);
        free((void *)uids);
        TRY(st);
        *result = json_object();
        for (i = 0; i < g->len; i++) {
            json_t *list = json_array();
            for (j = 0; j < g->items[i].uids_len; j++)
                json_array_append_new(list, json_string(g->items[i].uids[j]));
            json_object_set_new(*result, pod_key(g->items[i].pod, key, sizeof key), list);
        }
        sr_pod_groups_free(g);
    } else if (strcmp(op, "remove_linked_pod") == 0 ||
               strcmp(op, "remove_linked_pod_with_id") == 0) {
        bool removed;
        TRY(get_str(a, "uid", &uid));
        TRY(get_str(a, "svc", &svc));
        TRY(get_int(a, "keep", &keep));
        if (strcmp(op, "remove_linked_pod") == 0) {
            TRY(sr_remove_linked_pod(exec, ns, uid, svc, keep, &removed));
        } else {
            TRY(get_int(a, "pod", &pod));
            TRY(sr_remove_linked_pod_with_id(exec, ns, uid, svc, keep, pod, &removed));
        }
        *result = json_boolean(removed);
    } else if (strcmp(op, "get_link_service") == 0) {
        SrServicePods *l;
        TRY(get_str(a, "uid", &uid));
        TRY(sr_get_link_service(exec, ns, uid, &l));
        *result = json_object();
        for (i = 0; i < l->len; i++)
            json_object_set_new(*result, l->items[i].svc, json_integer(l->items[i].pod));
        sr_service_pods_free(l);
    } else if (strcmp(op, "compute_linked_pod") == 0) {
        SrRoutingPolicy policy;
        bool given;
        int64_t out;
        TRY(get_str(a, "uid", &uid));
        TRY(get_str(a, "svc", &svc));
        TRY(get_int(a, "persist", &persist));
        TRY(get_policy(a, &policy, &given));
        TRY(sr_compute_linked_pod(exec, ns, uid, svc, persist, given ? &policy : NULL, &out));
        *result = pod_or_null(out);
    } else {
        fprintf(stderr, "unknown operation %s\n", op);
        exit(2);
    }
    return SR_OK;
}

/* ----- vectors ---------------------------------------------------------------- */

/* {"$repeat": [s, n]} -> s repeated n times, anywhere; returns a new reference. */
static json_t *expand(json_t *v) {
    if (json_is_object(v)) {
        json_t *spec = json_object_get(v, "$repeat"), *out, *value;
        const char *key;
        if (json_is_array(spec)) {
            const char *s = json_string_value(json_array_get(spec, 0));
            size_t n = (size_t)json_integer_value(json_array_get(spec, 1)), len = strlen(s), i;
            char *buf = (char *)malloc(len * n + 1);
            for (i = 0; i < n; i++) memcpy(buf + i * len, s, len);
            buf[len * n] = '\0';
            out = json_string(buf);
            free(buf);
            return out;
        }
        out = json_object();
        json_object_foreach(v, key, value) json_object_set_new(out, key, expand(value));
        return out;
    }
    if (json_is_array(v)) {
        json_t *out = json_array(), *item;
        size_t i;
        json_array_foreach(v, i, item) json_array_append_new(out, expand(item));
        return out;
    }
    return json_incref(v);
}

static int matches(json_t *expected, json_t *actual) {
    if (json_is_object(expected)) {
        const char *key;
        json_t *value;
        json_t *range = json_object_get(expected, "$range");
        json_t *pattern = json_object_get(expected, "$regex");
        if (json_object_get(expected, "$any")) return 1;
        if (json_is_array(range)) {
            json_int_t lo = json_integer_value(json_array_get(range, 0));
            json_int_t hi = json_integer_value(json_array_get(range, 1));
            return json_is_integer(actual) && json_integer_value(actual) >= lo &&
                   json_integer_value(actual) <= hi;
        }
        if (json_is_string(pattern)) {
            regex_t re;
            int ok;
            if (!json_is_string(actual)) return 0;
            if (regcomp(&re, json_string_value(pattern), REG_EXTENDED | REG_NOSUB) != 0) {
                fprintf(stderr, "bad regex %s\n", json_string_value(pattern));
                exit(2);
            }
            ok = regexec(&re, json_string_value(actual), 0, NULL, 0) == 0;
            regfree(&re);
            return ok;
        }
        if (!json_is_object(actual) || json_object_size(actual) != json_object_size(expected))
            return 0;
        json_object_foreach(expected, key, value) {
            json_t *a = json_object_get(actual, key);
            if (a == NULL || !matches(value, a)) return 0;
        }
        return 1;
    }
    if (json_is_array(expected)) {
        size_t i;
        json_t *item;
        if (!json_is_array(actual) || json_array_size(actual) != json_array_size(expected))
            return 0;
        json_array_foreach(expected, i, item) {
            if (!matches(item, json_array_get(actual, i))) return 0;
        }
        return 1;
    }
    return json_equal(expected, actual);
}

static json_t *reply_to_json(redisReply *r) {
    size_t i;
    json_t *out;
    switch (r->type) {
    case REDIS_REPLY_NIL: return json_null();
    case REDIS_REPLY_INTEGER: return json_integer(r->integer);
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS: return json_stringn(r->str, r->len);
    case REDIS_REPLY_ARRAY:
        out = json_array();
        for (i = 0; i < r->elements; i++) json_array_append_new(out, reply_to_json(r->element[i]));
        return out;
    default:
        fprintf(stderr, "unexpected redis reply type %d: %s\n", r->type, r->str ? r->str : "");
        exit(2);
    }
}

static json_t *raw_command(json_t *command) {
    size_t n = json_array_size(command), i;
    const char **argv = (const char **)calloc(n, sizeof(char *));
    size_t *lens = (size_t *)calloc(n, sizeof(size_t));
    redisReply *r;
    json_t *out;
    for (i = 0; i < n; i++) {
        argv[i] = json_string_value(json_array_get(command, i));
        lens[i] = json_string_length(json_array_get(command, i));
    }
    r = (redisReply *)redisCommandArgv(redis, (int)n, argv, lens);
    if (r == NULL) {
        fprintf(stderr, "redis: %s\n", redis->errstr);
        exit(2);
    }
    out = reply_to_json(r);
    freeReplyObject(r);
    free(argv);
    free(lens);
    return out;
}

static int steps_run, files_run, error_steps;

/* Runs one vector file; returns the number of failed steps. */
static int run_file(const char *dir, const char *name) {
    char path[1024];
    json_error_t err;
    json_t *vector, *steps, *step;
    size_t i;
    int failures = 0;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    /* JSON_ALLOW_NUL: keep "\u0000" so the conversion step can refuse it */
    vector = json_load_file(path, JSON_ALLOW_NUL, &err);
    if (vector == NULL) {
        fprintf(stderr, "%s: %s (line %d)\n", name, err.text, err.line);
        return 1;
    }
    if (!json_is_string(json_object_get(vector, "description"))) {
        fprintf(stderr, "%s: no description\n", name);
        failures++;
    }
    freeReplyObject(t_cmd(redis, "FLUSHALL"));
    steps = json_object_get(vector, "steps");
    json_array_foreach(steps, i, step) {
        json_t *expect = json_object_get(step, "expect");
        json_t *redis_cmd = json_object_get(step, "redis");
        json_t *sleep_ms = json_object_get(step, "sleep_ms");
        const char *op = json_string_value(json_object_get(step, "op"));
        const char *code = json_string_value(json_object_get(step, "error"));
        steps_run++;
        if (sleep_ms) {
            usleep((useconds_t)json_integer_value(sleep_ms) * 1000);
        } else if (redis_cmd) {
            json_t *reply = raw_command(redis_cmd);
            if (expect && !matches(expect, reply)) {
                char *e = json_dumps(expect, JSON_COMPACT | JSON_ENCODE_ANY);
                char *a = json_dumps(reply, JSON_COMPACT | JSON_ENCODE_ANY);
                fprintf(stderr, "  %s step %zu: redis gave %s, expected %s\n", name, i, a, e);
                free(e);
                free(a);
                failures++;
            }
            json_decref(reply);
        } else {
            json_t *args = expand(json_object_get(step, "args"));
            json_t *result = NULL;
            SrStatus status = call(op, args, &result);
            if (code) {
                error_steps++;
                if (status == SR_OK || strcmp(sr_status_name(status), code) != 0) {
                    fprintf(stderr, "  %s step %zu: %s returned %s (%s), expected %s\n", name, i,
                            op, sr_status_name(status),
                            status ? sr_last_error_message() : "", code);
                    failures++;
                }
            } else if (status != SR_OK) {
                fprintf(stderr, "  %s step %zu: %s failed: %s: %s\n", name, i, op,
                        sr_status_name(status), sr_last_error_message());
                failures++;
            } else if (expect == NULL || !matches(expect, result)) {
                char *e = expect ? json_dumps(expect, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
                char *r = json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY);
                fprintf(stderr, "  %s step %zu: %s gave %s, expected %s\n", name, i, op, r,
                        e ? e : "(no expect)");
                free(e);
                free(r);
                failures++;
            }
            json_decref(result);
            json_decref(args);
        }
    }
    json_decref(vector);
    files_run++;
    return failures;
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(void) {
    const char *dir = getenv("SR_VECTORS_DIR") ? getenv("SR_VECTORS_DIR") : SR_VECTORS_DIR;
    DIR *d = opendir(dir);
    struct dirent *e;
    char *names[256];
    size_t n = 0, i;
    int passed = 0, failed = 0;
    if (d == NULL) {
        fprintf(stderr, "cannot open %s\n", dir);
        return 2;
    }
    while ((e = readdir(d)) != NULL && n < 256) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0) names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], compare_names);
    exec = t_executor("");
    redis = t_redis();
    for (i = 0; i < n; i++) {
        int failures = run_file(dir, names[i]);
        printf("%s %s\n", failures ? "FAIL" : "ok  ", names[i]);
        if (failures) failed++;
        else passed++;
        free(names[i]);
    }
    printf("%d files, %d steps (%d expecting an error)\n", files_run, steps_run, error_steps);
    if (n < 15) {
        fprintf(stderr, "expected the full vector set, found %zu files\n", n);
        failed++;
    }
    sr_executor_free(exec);
    redisFree(redis);
    printf("vectors: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
