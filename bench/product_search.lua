-- product_search.lua: GET /products?q=QUERY&limit=20, cycling through the
-- queries of the file named by BENCH_QUERIES_FILE ("query|matches" lines,
-- bench/search_queries.sql; only the query is used). Each thread starts at
-- its own place in the list. Every response must be 200.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
expect_status(200)

local requests = {}
local next_index = 1

function init(args)
   local file = os.getenv("BENCH_QUERIES_FILE")
   if file == nil or file == "" then
      error("product_search.lua: BENCH_QUERIES_FILE is not set")
   end
   for line in io.lines(file) do
      local q = line:match("^([^|]+)")
      if q then
         if not q:match("^[%w-]+$") then
            error("product_search.lua: queries are letters, digits and '-', not " .. q)
         end
         requests[#requests + 1] = wrk.format("GET", "/products?q=" .. q .. "&limit=20")
      end
   end
   if #requests == 0 then
      error("product_search.lua: no queries in " .. file)
   end
   -- Threads start at different places in the list.
   next_index = ((thread_index or 1) - 1) * 7919 % #requests + 1
end

function request()
   local r = requests[next_index]
   next_index = next_index % #requests + 1
   return r
end
