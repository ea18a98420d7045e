-- me.lua: GET the URL given to wrk (…/auth/me) with the bearer token from
-- the BENCH_TOKEN environment variable.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local token = os.getenv("BENCH_TOKEN")
if token == nil or token == "" then
   error("me.lua: BENCH_TOKEN is not set")
end
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. token
