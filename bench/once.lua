-- wrk: send each request of BENCH_REQUESTS (a file: METHOD, PATH, BODY and
-- optionally a bearer token, tab-separated, one a line) once.  When its
-- share of the list runs out, a thread asks for a path that does not exist
-- (404).  At the end it prints "once: failed N exhausted M": answers other
-- than 2xx to the list's requests, and the requests past the list's end.
-- Thread k of n takes lines k, k+n, ...
local lines = {}
local pos = 0
local threads = 0
local all = {}
offset = 0    -- set per thread by setup()
failed = 0    -- per thread, read by done()
exhausted = 0

function setup(thread)
  thread:set("offset", threads)
  threads = threads + 1
  all[#all + 1] = thread
end

function init(args)
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do lines[#lines + 1] = line end
  pos = offset + 1
end

request = function()
  local line = lines[pos]
  pos = pos + tonumber(os.getenv("BENCH_THREADS") or "2")
  if not line then
    return wrk.format("GET", "/bench/list-exhausted")
  end
  local method, path, body, token = line:match("^(%S+)\t(%S+)\t([^\t]*)\t?(%S*)$")
  local headers = { ["Content-Type"] = "application/json" }
  if token ~= "" then headers["Authorization"] = "Bearer " .. token end
  return wrk.format(method, path, headers, body)
end

response = function(status, headers, body)
  -- the unknown path answers the generic code; a real 404 names its thing
  if status == 404 and body:find('"code":%s*"not_found"') then
    exhausted = exhausted + 1
  elseif status >= 300 then
    failed = failed + 1
  end
end

done = function(summary, latency, requests)
  local f, e = 0, 0
  for _, t in ipairs(all) do
    f = f + t:get("failed")
    e = e + t:get("exhausted")
  end
  io.write(string.format("once: failed %d exhausted %d\n", f, e))
end
