"""Turns the figures run.sh collected into the report (and checks them against the targets)."""
import re
import sys
from pathlib import Path

out, queue, backends = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split()


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


def accepted_p99_ms(metrics_path):
    return accepted_quantile_ms(metrics_path, 0.99)


def accepted_quantile_ms(metrics_path, q):
    """A quantile of the 201 answers, from the gateway's latency histogram (linear within a bucket)."""
    buckets = []
    pattern = re.compile(r'^signup_http_request_duration_seconds_bucket\{([^}]*)\} (\d+)$')
    for line in metrics_path.read_text().splitlines():
        m = pattern.match(line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        if labels.get("route") == "/conductor/auth/signup" and labels.get("status") == "201":
            le = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
            buckets.append((le, int(m.group(2))))
    if not buckets:
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


def verdict(ok):
    return "PASS" if ok else "MISS"


bare = kv("bare.txt")
bare_rate = int(bare["requests"]) / float(bare["duration_s"])

print()
print("signup-gateway benchmark")
print(f"  bare Actix 400 handler: {bare_rate:,.0f} req/s")
for backend in backends:
    signup, reject, overload = kv(f"{backend}-signup.txt"), kv(f"{backend}-reject.txt"), kv(f"{backend}-overload.txt")
    if signup is None:
        continue
    argon2 = kv(f"{backend}-argon2.txt")
    rate = float(argon2["argon2_hashes_per_sec"])
    hash_ms = float(argon2["argon2_ms_per_hash"])
    permits = int(argon2["argon2_threads"])
    ok = int(signup["requests"]) - int(signup["non2xx"])
    signups = ok / float(signup["duration_s"])
    reject_rate = int(reject["requests"]) / float(reject["duration_s"])
    rss = float(signup["peak_rss_mib"])
    print(f"\n  [{backend}]")
    print(f"    raw argon2id {argon2['argon2_params']} on {permits} cores, just before: {rate:.1f} hashes/s, {hash_ms:.1f} ms per hash")
    print(f"    sign-ups: {signups:.1f}/s ({ok} created, {signup['non2xx']} non-2xx, {signup['socket_errors']} socket errors)"
          f", p50 {signup['p50_ms']} ms, p99 {signup['p99_ms']} ms, peak RSS {rss:.1f} MiB")
    print(f"    sign-ups / raw argon2 = {signups / rate:.2f}  (target >= 0.90: {verdict(signups / rate >= 0.9)})")
    print(f"    rejected (400) path: {reject_rate:,.0f} req/s = {reject_rate / bare_rate:.2f} x bare Actix"
          f"  (target >= 0.50: {verdict(reject_rate / bare_rate >= 0.5)})")
    p99, accepted = accepted_p99_ms(out / f"{backend}-overload-metrics.txt")
    bound = (queue / permits + 1) * hash_ms
    rss_bound = 64 + permits * 19
    orss = float(overload["peak_rss_mib"])
    served = int(overload["requests"])
    refused = int(overload["non2xx"])
    seconds = float(overload["duration_s"])
    print(f"    3x overload (queue {queue}, {permits} permits): {served / seconds:.0f} req/s offered,"
          f" {refused / seconds:.0f}/s refused with 503, {accepted / seconds:.1f}/s accepted")
    p50, _ = accepted_quantile_ms(out / f"{backend}-overload-metrics.txt", 0.50)
    if p99 is not None:
        print(f"      accepted p50 {p50:.0f} ms; model at saturation: (queue/permits + 1) x hash = {bound:.0f} ms")
        print(f"      accepted p99 {p99:.0f} ms vs bound (queue/permits + 1) x hash = {bound:.0f} ms: {verdict(p99 < bound)}")
    print(f"      peak RSS {orss:.1f} MiB vs 64 + permits x 19 = {rss_bound} MiB: {verdict(orss < rss_bound)}")
