-- wrk: POST /v1/subjects with a fresh valid IIN, phone and e-mail each time.
-- Each wrk thread gets its own serial range so no two requests collide.
local counter = 0
base = 0 -- set per thread by setup()
local token = os.getenv("BENCH_TOKEN")

-- Each wrk thread gets its own range of serials, and each run a fresh one
-- (the start is taken from the clock), so no two requests share an IIN.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("base", threads * 30000000 + (os.time() % 10) * 1000000)
end

local function check_digit(d)
  local s = 0
  for i = 1, 11 do s = s + d[i] * i end
  s = s % 11
  if s == 10 then
    local w = {3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2}
    s = 0
    for i = 1, 11 do s = s + d[i] * w[i] end
    s = s % 11
    if s == 10 then return nil end
  end
  return s
end

-- An IIN for a birth date spread over 40 years x 12 months x 28 days, so
-- the 10,000 serials of each date are plenty.
-- n maps one to one onto (birth date, serial); a combination with no valid
-- check digit is tried as a woman's IIN, then moved past every n in use.
local function iin_for(n)
  while true do
    local y = 1960 + n % 40
    local m = 1 + math.floor(n / 40) % 12
    local day = 1 + math.floor(n / 480) % 28
    local serial = math.floor(n / 13440) % 10000
    for _, sex in ipairs({ {3, "M"}, {4, "F"} }) do
      local s = string.format("%02d%02d%02d%d%04d", y % 100, m, day, sex[1], serial)
      local d = {}
      for i = 1, 11 do d[i] = tonumber(s:sub(i, i)) end
      local c = check_digit(d)
      if c then
        return s .. c, string.format("%04d-%02d-%02d", y, m, day), sex[2]
      end
    end
    n = n + 134400000
  end
end

request = function()
  counter = counter + 1
  local n = base + counter
  local iin, born, sex = iin_for(n)
  local phone = string.format("+7701%07d", n % 10000000)
  local body = string.format(
    '{"iin":"%s","surname":"Бенчмарк","given_name":"Тест","birth_date":"%s",' ..
    '"sex":"%s","citizenship":"KZ","phone":"%s","email":"b%d@bench.kz"}',
    iin, born, sex, phone, n)
  return wrk.format("POST", "/v1/subjects", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["Senim-Purpose"] = "identification",
  }, body)
end
