-- The done() of the sign-up and login scripts: machine-readable figures for run.sh.
return function(summary, latency, requests)
  io.write(string.format("requests=%d\n", summary.requests))
  io.write(string.format("non2xx=%d\n", summary.errors.status))
  io.write(string.format("socket_errors=%d\n", summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
  io.write(string.format("duration_s=%.3f\n", summary.duration / 1e6))
  io.write(string.format("p50_ms=%.2f\n", latency:percentile(50) / 1000))
  io.write(string.format("p99_ms=%.2f\n", latency:percentile(99) / 1000))
end
