-- graphql_product.lua: POST /graphql asking for one product by id, the
-- GraphQL twin of product_get.lua (same ids, from BENCH_IDS_FILE; the same
-- fields as GET /products/{id} answers, in camelCase). Every response must
-- be 200 with the product in data and no errors: a 200 carrying GraphQL
-- errors or a null product counts as unexpected (reported as status 1).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
expect_status(200)

local query = "query ProductById($id: ID!) { product(id: $id) { id sku name description"
   .. " priceCents currency stock category createdAt updatedAt } }"
local headers = { ["Content-Type"] = "application/json" }
local requests = {}

function init(args)
   local file = os.getenv("BENCH_IDS_FILE")
   if file == nil or file == "" then
      error("graphql_product.lua: BENCH_IDS_FILE is not set")
   end
   for id in io.lines(file) do
      if id ~= "" then
         local body = '{"query":"' .. query .. '","variables":{"id":"' .. id .. '"}}'
         requests[#requests + 1] = wrk.format("POST", "/graphql", headers, body)
      end
   end
   if #requests == 0 then
      error("graphql_product.lua: no ids in " .. file)
   end
   math.randomseed(os.time() * 100 + (thread_index or 0))
end

function request()
   return requests[math.random(#requests)]
end

local status_check = response
response = function(status, headers, body)
   status_check(status, headers, body)
   if status == 200 and (body:find('"errors"', 1, true) or not body:find('"product":{', 1, true)) then
      unexpected = unexpected + 1
      unexpected_status = 1
   end
end
