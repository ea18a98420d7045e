-- report.lua: shared by the bench/*.lua scripts (loaded with dofile).
--
-- done() prints one machine-readable line that bench/run parses:
--   BENCH requests=... duration_us=... rps=... p50_us=... p90_us=... p99_us=...
--         max_us=... mean_us=... err_connect=... err_read=... err_write=...
--         err_status=... err_timeout=... err_unexpected=... unexpected_status=...
-- err_status counts responses with a status of 400 or more (wrk's
-- "Non-2xx or 3xx responses" line). A script that defines response() with
-- expect_status(...) also counts, per thread, every response whose status is
-- not one it expects (err_unexpected, with the last such status). bench/run
-- refuses to record figures when any err_* is not zero.
--
-- setup() is defined here, to reach the threads' counters in done(); a
-- script that needs its own per-thread setup defines thread_setup(thread).

local threads = {}

function setup(thread)
   threads[#threads + 1] = thread
   thread:set("thread_index", #threads)
   if thread_setup then
      thread_setup(thread)
   end
end

-- expect_status(200) or expect_status(200, 201, ...): defines response(),
-- which counts (in the thread's globals) the responses with any other status.
function expect_status(...)
   local ok = {}
   for _, s in ipairs({ ... }) do
      ok[s] = true
   end
   unexpected = 0
   unexpected_status = 0
   response = function(status, headers, body)
      if not ok[status] then
         unexpected = unexpected + 1
         unexpected_status = status
      end
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   local secs = summary.duration / 1e6
   local unexpected_n, unexpected_s = 0, 0
   for _, t in ipairs(threads) do
      unexpected_n = unexpected_n + (tonumber(t:get("unexpected")) or 0)
      local s = tonumber(t:get("unexpected_status")) or 0
      if s ~= 0 then
         unexpected_s = s
      end
   end
   io.write(string.format(
      "BENCH requests=%d duration_us=%d rps=%.2f p50_us=%.0f p90_us=%.0f p99_us=%.0f"
         .. " max_us=%.0f mean_us=%.1f err_connect=%d err_read=%d err_write=%d"
         .. " err_status=%d err_timeout=%d err_unexpected=%d unexpected_status=%d\n",
      summary.requests, summary.duration, secs > 0 and summary.requests / secs or 0,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean,
      e.connect, e.read, e.write, e.status, e.timeout, unexpected_n, unexpected_s))
end
