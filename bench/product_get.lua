-- product_get.lua: GET /products/{id} with ids drawn at random from the file
-- named by BENCH_IDS_FILE (one product id a line, read in init()). Every
-- response must be 200.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
expect_status(200)

local requests = {}

function init(args)
   local file = os.getenv("BENCH_IDS_FILE")
   if file == nil or file == "" then
      error("product_get.lua: BENCH_IDS_FILE is not set")
   end
   for id in io.lines(file) do
      if id ~= "" then
         requests[#requests + 1] = wrk.format("GET", "/products/" .. id)
      end
   end
   if #requests == 0 then
      error("product_get.lua: no ids in " .. file)
   end
   -- Each thread its own sequence.
   math.randomseed(os.time() * 100 + (thread_index or 0))
end

function request()
   return requests[math.random(#requests)]
end
