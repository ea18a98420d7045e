-- login.lua: POST /auth/login, cycling through the users listed in
-- BENCH_LOGIN_EMAILS (comma-separated), all with BENCH_LOGIN_PASSWORD.
-- Several users keep the per-email login throttle out of the picture (it
-- only counts failures, and every login here succeeds).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

local emails = os.getenv("BENCH_LOGIN_EMAILS") or ""
local password = os.getenv("BENCH_LOGIN_PASSWORD") or ""
if emails == "" or password == "" then
   error("login.lua: BENCH_LOGIN_EMAILS and BENCH_LOGIN_PASSWORD must be set")
end

local function json_string(s)
   return '"' .. s:gsub('[%c"\\]', function(c)
      return string.format("\\u%04x", c:byte())
   end) .. '"'
end

local requests = {}
local next_index = 1

function init(args)
   local headers = { ["Content-Type"] = "application/json" }
   for email in emails:gmatch("[^,]+") do
      local body = '{"email":' .. json_string(email) .. ',"password":' .. json_string(password) .. '}'
      requests[#requests + 1] = wrk.format("POST", "/auth/login", headers, body)
   end
   -- Threads start at different users.
   next_index = math.random(#requests)
end

function request()
   next_index = next_index % #requests + 1
   return requests[next_index]
end
