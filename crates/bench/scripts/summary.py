"""Turns the figures run.sh collected into one table, each figure against its goal."""
import re
import sys
from pathlib import Path

out, backends = Path(sys.argv[1]), sys.argv[2].split()
FLAVOURS = ["conductor", "infera", "timbu", "cloudreve", "zato"]
# Reported beside them, not held to the goal: the refusal issue 12 first measured.
EXTRA_REFUSALS = ["conductor-invalid"]
SIGNUP_GOAL = {"sqlite": 0.95, "postgres": 0.90}


def kv(name):
    path = out / name
    if not path.exists():
        return None
    values = {}
    for line in path.read_text().splitlines():
        if "=" in line and " " not in line.split("=", 1)[0]:
            key, value = line.split("=", 1)
            values[key] = value
    return values


def kv_all(name):
    """Every value of each key, for files that hold several rounds."""
    path = out / name
    if not path.exists():
        return None
    values = {}
    for line in path.read_text().splitlines():
        if "=" in line and " " not in line.split("=", 1)[0]:
            key, value = line.split("=", 1)
            values.setdefault(key, []).append(value)
    return values


def rounds(prefix):
    """(raw hashes/s, sign-ups/s, created, non-2xx, max p99 ms) over a file pair's rounds."""
    raw, signup = kv_all(f"{prefix}-argon2.txt"), kv_all(f"{prefix}-signup.txt")
    if raw is None or signup is None:
        return None
    rates = [float(v) for v in raw["argon2_hashes_per_sec"]]
    requests = sum(int(v) for v in signup["requests"])
    non2xx = sum(int(v) for v in signup["non2xx"])
    seconds = sum(float(v) for v in signup["duration_s"])
    return (sum(rates) / len(rates), (requests - non2xx) / seconds, requests - non2xx, non2xx,
            max(float(v) for v in signup["p99_ms"]), rates)


def rate(figures):
    return int(figures["requests"]) / float(figures["duration_s"])


def ok_rate(figures):
    return (int(figures["requests"]) - int(figures["non2xx"])) / float(figures["duration_s"])


def quantile_ms(metrics_path, status, q):
    """A quantile of the sign-up answers with `status`, from the gateway's latency histogram
    (linear within a bucket); None when there were none."""
    buckets = []
    pattern = re.compile(r'^signup_http_request_duration_seconds_bucket\{([^}]*)\} (\d+)$')
    for line in metrics_path.read_text().splitlines():
        m = pattern.match(line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        if labels.get("route") == "/conductor/auth/signup" and labels.get("status") == status:
            le = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
            buckets.append((le, int(m.group(2))))
    if not buckets or buckets[-1][1] == 0:
        return None, 0
    buckets.sort()
    total = buckets[-1][1]
    rank = q * total
    lower, below = 0.0, 0
    for le, cumulative in buckets:
        if cumulative >= rank:
            if le == float("inf"):
                return lower * 1000, total
            share = (rank - below) / max(cumulative - below, 1)
            return (lower + (le - lower) * share) * 1000, total
        lower, below = le, cumulative
    return None, total


rows = []  # (figure, measured, goal, verdict)


def row(figure, measured, goal="", passed=None):
    verdict = "" if passed is None else ("PASS" if passed else "MISS")
    rows.append((figure, measured, goal, verdict))


bare = [kv(f"bare-{when}.txt") for when in ("before", "after")]
bare_rate = sum(rate(b) for b in bare) / len(bare)
row("bare Actix 400 handler (mean of before/after)",
    f"{bare_rate:,.0f} req/s ({rate(bare[0]):,.0f} / {rate(bare[1]):,.0f})")
for flavour in FLAVOURS + EXTRA_REFUSALS:
    figures = kv(f"reject-{flavour}.txt")
    if figures is None:
        continue
    code = re.search(r'"code":(\d+)', figures.get("body", ""))
    shape = figures["status"] + (f" code {code.group(1)}" if code else "")
    ratio = rate(figures) / bare_rate
    held = flavour in FLAVOURS
    row(f"rejected: {flavour} ({shape})", f"{rate(figures):,.0f} req/s = {ratio:.2f}x bare",
        ">= 0.50x" if held else "(reported)", ratio >= 0.5 if held else None)

scaling = []
for backend in backends:
    signup = kv(f"{backend}-signup.txt")
    if signup is None:
        continue
    argon2 = kv(f"{backend}-argon2.txt")
    raw, signups, created, non2xx, p99_ms, raws = rounds(backend)
    hash_ms = float(argon2["argon2_ms_per_hash"])
    permits = int(argon2["argon2_threads"])
    goal = SIGNUP_GOAL.get(backend, 0.9)
    row(f"[{backend}] raw argon2id {argon2['argon2_params']}, {permits} threads (3 rounds)",
        f"{raw:.1f} hashes/s ({' / '.join(f'{r:.1f}' for r in raws)}), {hash_ms:.1f} ms per hash")
    row(f"[{backend}] sign-ups/s, -c16, mail through the outbox (3 rounds)",
        f"{signups:.1f}/s = {signups / raw:.2f}x raw ({created} created, {non2xx} non-2xx, p99 {p99_ms:.0f} ms)",
        f">= {goal:.2f}x", signups / raw >= goal)
    rss = float(signup["peak_rss_mib"])
    rss_bound = 64 + permits * 19
    row(f"[{backend}] peak RSS, sign-ups", f"{rss:.1f} MiB", f"< {rss_bound} MiB", rss < rss_bound)

    one = rounds(f"{backend}-1")
    if one:
        raw1, signups1 = one[0], one[1]
        scaling.append(f"  [{backend}] 1 hashing worker: {signups1:.1f} sign-ups/s (raw {raw1:.1f}/s on 1 thread,"
                       f" {signups1 / raw1:.2f}x); {permits} workers: {signups:.1f}/s (raw {raw:.1f}/s,"
                       f" {signups / raw:.2f}x); {signups / max(signups1, 0.1):.2f}x from 1 to {permits} workers")

    login = kv(f"{backend}-login.txt")
    if login:
        logins = ok_rate(login)
        row(f"[{backend}] Timbu logins/s, -c16", f"{logins:.1f}/s = {logins / raw:.2f}x raw (p99 {login['p99_ms']} ms,"
            f" {login['non2xx']} non-2xx)", "argon2-bound", None)

    overload = kv(f"{backend}-overload.txt")
    metrics = out / f"{backend}-overload-metrics.txt"
    if overload and metrics.exists():
        seconds = float(overload["duration_s"])
        p99, accepted = quantile_ms(metrics, "201", 0.99)
        refusal_p99, refused = quantile_ms(metrics, "503", 0.99)
        max_wait = float(overload["max_wait_ms"])
        row(f"[{backend}] 3x overload: offered / accepted / refused",
            f"{rate(overload):.0f} / {accepted / seconds:.1f} / {refused / seconds:.0f} req/s")
        # The hash time the gateway measured under this load (the mean run time of the
        # phase's hashes), which its wait estimate uses; the raw figure was measured on
        # idle cores.
        text = metrics.read_text()
        run = {k: float(v) for k, v in re.findall(r'^signup_hashing_run_seconds_(sum|count) (\S+)$', text, re.M)}
        gauge = re.search(r'^signup_hashing_job_seconds (\S+)$', text, re.M)
        if run.get("count"):
            job_ms = 1000 * run["sum"] / run["count"]
        else:
            job_ms = float(gauge.group(1)) * 1000 if gauge else hash_ms
        if p99 is not None:
            bound = max_wait + 2 * job_ms
            row(f"[{backend}] 3x overload: accepted p99", f"{p99:.0f} ms (hash {job_ms:.1f} ms in the gateway,"
                f" {hash_ms:.1f} raw)", f"<= max_wait {max_wait:.0f} + 2 x hash = {bound:.0f} ms", p99 <= bound)
        if refusal_p99 is not None:
            row(f"[{backend}] 3x overload: refusals (503) p99", f"{refusal_p99:.2f} ms", "< 5 ms", refusal_p99 < 5)
        orss = float(overload["peak_rss_mib"])
        row(f"[{backend}] 3x overload: peak RSS", f"{orss:.1f} MiB", f"< {rss_bound} MiB", orss < rss_bound)

    if backend == "postgres" and "pg_cpu_ms" in signup:
        cpu = int(signup["pg_cpu_ms"]) / max(created, 1)
        row("[postgres] server CPU per sign-up, sign-up run (beside argon2 on the same cores)",
            f"{cpu:.2f} ms", "(reported)")
        bound = kv("postgres-dbbound.txt")
        if bound:
            n = max(int(bound["requests"]) - int(bound["non2xx"]), 1)
            cpu = int(bound["pg_cpu_ms"]) / n
            row("[postgres] server CPU per sign-up, database-bound run (cheap hashing)",
                f"{cpu:.2f} ms at {ok_rate(bound):,.0f} sign-ups/s ({int(bound['pg_transactions']) / n:.2f}"
                " transactions per sign-up)", "<= 0.50 ms", cpu <= 0.5)
        sized = {size: kv(f"postgres-sized-{size}.txt") for size in (1000, 100000)}
        per = {}
        for size, figures in sized.items():
            if figures is None:
                continue
            n = max(int(figures["requests"]) - int(figures["non2xx"]), 1)
            per[size] = (int(figures["pg_rows_read"]) / n, int(figures["pg_index_entries_read"]) / n)
            tables = ", ".join(f"{key[len('pg_rows_read_'):]} {int(value) / n:.1f}"
                               for key, value in sorted(figures.items()) if key.startswith("pg_rows_read_"))
            row(f"[postgres] rows read per sign-up at {size:,} accounts",
                f"{per[size][0]:.1f} rows ({tables}), {per[size][1]:.1f} index entries, {n} sign-ups")
        if len(per) == 2:
            growth = per[100000][0] / max(per[1000][0], 0.1)
            row("[postgres] rows read, 100,000 vs 1,000 accounts", f"{growth:.2f}x", "O(1): <= 1.20x",
                growth <= 1.2)

width = [max(len(r[i]) for r in rows + [("figure", "measured", "goal", "")]) for i in range(4)]
print()
print("signup-gateway benchmark")
line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, width)) + " |"
print(line(("figure", "measured", "goal", "")))
print("|" + "|".join("-" * (w + 2) for w in width) + "|")
for r in rows:
    print(line(r))
if scaling:
    print()
    print("sign-ups by hashing worker count (the README's capacity rule, cores x 1000 / hash ms):")
    for s in scaling:
        print(s)
