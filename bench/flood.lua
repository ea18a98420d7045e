-- flood.lua: POST /auth/login with a new random email and a new client
-- address (X-Forwarded-For, which auth-service believes from the local
-- gateway's address) on every request, so that neither the per-account nor
-- the per-client throttle stops it: each request costs one Argon2id run.
-- Expected answers: 401 (wrong credentials) or 503 (every hash slot busy).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
expect_status(401, 503)

local n = 0

function init(args)
   -- Each thread its own sequence of emails and addresses.
   math.randomseed(os.time() * 100 + (thread_index or 0))
end

function request()
   n = n + 1
   local id = string.format("%08x%04x", math.random(0, 0x7fffffff), n % 0x10000)
   local body = '{"email":"flood-' .. id .. '@bench.example","password":"not-the-password"}'
   local headers = {
      ["Content-Type"] = "application/json",
      ["X-Forwarded-For"] = string.format("198.18.%d.%d", math.random(0, 255), math.random(1, 254)),
   }
   return wrk.format("POST", "/auth/login", headers, body)
end
