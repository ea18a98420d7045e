-- mixed.lua: the soak's load, one wrk script: browse (product pages), search,
-- own orders, sign-ins, new orders and cancellations, in the proportions of
-- SOAK_WEIGHTS, each connection pausing SOAK_DELAY_MS between requests (the
-- pace). Inputs, one a line, written by soak.py:
--   SOAK_PRODUCTS_FILE  product ids
--   SOAK_WORDS_FILE     search terms
--   SOAK_USERS_FILE     user id, email, password, access token (tab-separated)
-- Orders to cancel are taken from the answers to this script's own POST
-- /orders (the 201 body names the order and its user).
--
-- done() prints one line that soak.py parses:
--   SOAK requests=N duration_us=N p50_us=N p99_us=N max_us=N errors=N
--        status_200=N status_201=N ...
-- errors counts socket errors and timeouts (wrk's own counters).

local products, words, users, by_id = {}, {}, {}, {}
local placed = {} -- this thread's orders that may still be cancelled
counts = {} -- global: done() reads it through thread:get
local delay_ms = 0
local kinds, total_weight = {}, 0
local threads = {}

local function read_lines(var)
   local file = os.getenv(var)
   if not file or file == "" then
      error("mixed.lua: " .. var .. " is not set")
   end
   local t = {}
   for l in io.lines(file) do
      if l ~= "" then
         t[#t + 1] = l
      end
   end
   if #t == 0 then
      error("mixed.lua: " .. file .. " is empty")
   end
   return t
end

local function split_tabs(line)
   local f = {}
   for v in (line .. "\t"):gmatch("([^\t]*)\t") do
      f[#f + 1] = v
   end
   return f
end

function setup(thread)
   threads[#threads + 1] = thread
   thread:set("thread_index", #threads)
end

function init(args)
   products = read_lines("SOAK_PRODUCTS_FILE")
   words = read_lines("SOAK_WORDS_FILE")
   for _, l in ipairs(read_lines("SOAK_USERS_FILE")) do
      local f = split_tabs(l)
      local u = { id = f[1], email = f[2], password = f[3], token = f[4] }
      users[#users + 1] = u
      by_id[u.id] = u
   end
   delay_ms = tonumber(os.getenv("SOAK_DELAY_MS") or "0") or 0
   -- "browse=50,search=20,orders=10,place=12,cancel=5,login=1"
   for name, w in (os.getenv("SOAK_WEIGHTS") or ""):gmatch("(%a+)=(%d+)") do
      total_weight = total_weight + tonumber(w)
      kinds[#kinds + 1] = { name = name, upto = total_weight }
   end
   if total_weight == 0 then
      error("mixed.lua: SOAK_WEIGHTS is empty")
   end
   math.randomseed(os.time() * 1000 + (thread_index or 0))
end

local function pick(t)
   return t[math.random(#t)]
end

local function bearer(u)
   return { ["Authorization"] = "Bearer " .. u.token, ["Content-Type"] = "application/json" }
end

local builders = {}

function builders.browse()
   return wrk.format("GET", "/products/" .. pick(products))
end

function builders.search()
   return wrk.format("GET", "/products?q=" .. pick(words) .. "&limit=20")
end

function builders.orders()
   return wrk.format("GET", "/orders?limit=10", bearer(pick(users)))
end

function builders.login()
   local u = pick(users)
   return wrk.format("POST", "/auth/login", { ["Content-Type"] = "application/json" },
      string.format('{"email":"%s","password":"%s"}', u.email, u.password))
end

function builders.place()
   local n = math.random(math.min(3, #products))
   local picked, lines = {}, {}
   while #lines < n do
      local p = pick(products)
      if not picked[p] then
         picked[p] = true
         lines[#lines + 1] = string.format('{"product_id":"%s","quantity":%d}', p, math.random(2))
      end
   end
   return wrk.format("POST", "/orders", bearer(pick(users)),
      '{"items":[' .. table.concat(lines, ",") .. "]}")
end

function builders.cancel()
   local o = table.remove(placed, 1)
   if not o then
      return builders.place()
   end
   return wrk.format("POST", "/orders/" .. o.id .. "/cancel", bearer(by_id[o.user]))
end

function request()
   local r = math.random(total_weight)
   for _, k in ipairs(kinds) do
      if r <= k.upto then
         return builders[k.name]()
      end
   end
end

function delay()
   if delay_ms <= 0 then
      return 0
   end
   return math.random(math.floor(delay_ms / 2), math.floor(delay_ms * 3 / 2))
end

function response(status, headers, body)
   counts[status] = (counts[status] or 0) + 1
   if status == 201 and body then
      local id = body:match('^{"id":"([%x-]+)"')
      local user = body:match('"user_id":"([%x-]+)"')
      -- a share of the orders is cancelled, not all: the rest stay confirmed
      if id and user and by_id[user] and #placed < 64 and math.random(2) == 1 then
         placed[#placed + 1] = { id = id, user = user }
      end
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   local total = {}
   for _, t in ipairs(threads) do
      local c = t:get("counts")
      for s, n in pairs(c or {}) do
         total[s] = (total[s] or 0) + n
      end
   end
   local parts = {}
   for s, n in pairs(total) do
      parts[#parts + 1] = string.format("status_%d=%d", s, n)
   end
   table.sort(parts)
   io.write(string.format(
      "SOAK requests=%d duration_us=%d p50_us=%.0f p99_us=%.0f max_us=%.0f errors=%d %s\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      latency.max, e.connect + e.read + e.write + e.timeout, table.concat(parts, " ")))
end
