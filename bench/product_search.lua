-- product_search.lua: GET /products?q=WORD&limit=20, rotating through the
-- comma-separated words of BENCH_SEARCH_WORDS (one word: only that one).
-- Every response must be 200.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
expect_status(200)

local requests = {}
local next_index = 1

function init(args)
   local words = os.getenv("BENCH_SEARCH_WORDS") or ""
   for w in words:gmatch("[^,]+") do
      if not w:match("^[%w-]+$") then
         error("product_search.lua: search words are letters, digits and '-', not " .. w)
      end
      requests[#requests + 1] = wrk.format("GET", "/products?q=" .. w .. "&limit=20")
   end
   if #requests == 0 then
      error("product_search.lua: BENCH_SEARCH_WORDS is not set")
   end
   -- Threads start at different words.
   next_index = (thread_index or 0) % #requests + 1
end

function request()
   local r = requests[next_index]
   next_index = next_index % #requests + 1
   return r
end
