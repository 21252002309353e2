-- wrk script: the same refused body over and over (BENCH_BODY, default an invalid Conductor
-- sign-up); the bare handler answers 400 to anything. done() prints the request rate.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_BODY")
  or '{"username":"","password":"short","email":"not-an-address","first_name":"","last_name":""}'

done = function(summary, latency, requests)
  io.write(string.format("requests=%d\n", summary.requests))
  io.write(string.format("non2xx=%d\n", summary.errors.status))
  io.write(string.format("duration_s=%.3f\n", summary.duration / 1e6))
  io.write(string.format("p99_ms=%.2f\n", latency:percentile(99) / 1000))
end
