-- refresh.lua: POST /auth/refresh in a chain: each answer's refresh token
-- is presented next (the old one is spent). Run it with one connection
-- (wrk -t1 -c1): two requests in flight would present one token twice, and
-- the reuse would revoke the chain. Starts from BENCH_REFRESH_TOKEN.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local token = os.getenv("BENCH_REFRESH_TOKEN")
if token == nil or token == "" then
   error("refresh.lua: BENCH_REFRESH_TOKEN is not set")
end
unexpected = 0
unexpected_status = 0

function request()
   return wrk.format("POST", "/auth/refresh", { ["Content-Type"] = "application/json" },
                     '{"refresh_token":"' .. token .. '"}')
end

function response(status, headers, body)
   local next_token = body and body:match('"refresh_token":"([^"]+)"')
   if status ~= 200 or not next_token then
      unexpected = unexpected + 1
      unexpected_status = status
      return
   end
   token = next_token
end
