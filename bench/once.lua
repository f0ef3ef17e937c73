-- wrk: send each request of BENCH_REQUESTS (a file: METHOD, PATH, BODY,
-- tab-separated, one a line) once.  When the list runs out, a thread asks
-- for a path that does not exist, so the extra requests count as non-2xx and
-- the driver can subtract them.  Thread k of n takes lines k, k+n, ...
local lines = {}
local pos = 0
local threads = 0
offset = 0 -- set per thread by setup()

function setup(thread)
  thread:set("offset", threads)
  threads = threads + 1
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
  local method, path, body = line:match("^(%S+)\t(%S+)\t(.*)$")
  return wrk.format(method, path, { ["Content-Type"] = "application/json" }, body)
end
