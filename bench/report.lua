-- report.lua: shared by the bench/*.lua scripts (loaded with dofile).
--
-- done() prints one machine-readable line that bench/run parses:
--   BENCH requests=... duration_us=... rps=... p50_us=... p90_us=... p99_us=...
--         max_us=... mean_us=... err_connect=... err_read=... err_write=...
--         err_status=... err_timeout=...
-- err_status counts responses with a status of 400 or more (wrk's
-- "Non-2xx or 3xx responses" line); bench/run refuses to record figures
-- when any err_* is not zero.

function done(summary, latency, requests)
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format(
      "BENCH requests=%d duration_us=%d rps=%.2f p50_us=%.0f p90_us=%.0f p99_us=%.0f"
         .. " max_us=%.0f mean_us=%.1f err_connect=%d err_read=%d err_write=%d"
         .. " err_status=%d err_timeout=%d\n",
      summary.requests, summary.duration, secs > 0 and summary.requests / secs or 0,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean,
      e.connect, e.read, e.write, e.status, e.timeout))
end
