-- orders.lua: POST /orders with 1 to 3 distinct products picked at random
-- from BENCH_PRODUCTS_FILE (one product id a line), 1 to 3 of each, as the
-- users whose access tokens are in BENCH_TOKENS_FILE (one a line), in turn.
-- Every response must be 201 (a new order).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
expect_status(201)

local products, tokens = {}, {}
local next_token = 1

local function read_lines(var)
   local file = os.getenv(var)
   if file == nil or file == "" then
      error("orders.lua: " .. var .. " is not set")
   end
   local t = {}
   for l in io.lines(file) do
      if l ~= "" then
         t[#t + 1] = l
      end
   end
   if #t == 0 then
      error("orders.lua: " .. file .. " is empty")
   end
   return t
end

function init(args)
   products = read_lines("BENCH_PRODUCTS_FILE")
   tokens = read_lines("BENCH_TOKENS_FILE")
   math.randomseed(os.time() * 100 + (thread_index or 0))
   next_token = math.random(#tokens)
end

function request()
   local n = math.random(math.min(3, #products))
   local picked, lines = {}, {}
   while #lines < n do
      local p = products[math.random(#products)]
      if not picked[p] then
         picked[p] = true
         lines[#lines + 1] = string.format('{"product_id":"%s","quantity":%d}', p, math.random(3))
      end
   end
   next_token = next_token % #tokens + 1
   return wrk.format("POST", "/orders", {
      ["Authorization"] = "Bearer " .. tokens[next_token],
      ["Content-Type"] = "application/json",
   }, '{"items":[' .. table.concat(lines, ",") .. ']}')
end
