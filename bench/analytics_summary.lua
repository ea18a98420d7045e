-- analytics_summary.lua: GET the URL given to wrk (…/reports/summary?from=&to=)
-- with the bearer token from BENCH_TOKEN (a reports:read holder's); every
-- answer must be 200.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local token = os.getenv("BENCH_TOKEN")
if token == nil or token == "" then
   error("analytics_summary.lua: BENCH_TOKEN is not set")
end
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. token
expect_status(200)
