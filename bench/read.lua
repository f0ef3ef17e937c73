-- wrk: purpose-checked reads of one category (decrypt + audit record each),
-- round-robin over the subjects listed in BENCH_IDS (a file, one id a line).
local ids = {}
local i = 0
local token = os.getenv("BENCH_TOKEN")
for line in io.lines(os.getenv("BENCH_IDS")) do ids[#ids + 1] = line end

request = function()
  i = i % #ids + 1
  return wrk.format("GET", "/v1/subjects/" .. ids[i] .. "/data/identity", {
    ["Authorization"] = "Bearer " .. token,
    ["Senim-Purpose"] = "identification",
  })
end
