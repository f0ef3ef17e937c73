-- wrk: credit reports through senim, round-robin over the subjects listed
-- in BENCH_IDS (one id a line), each asked of the bureau in BENCH_RECIPIENT
-- by the underwriter BENCH_TOKEN for loan_application_review.  Every
-- request is a whole exchange: decision and audit record, the call to the
-- peer (BENCH_DELAY_MS late), the answer checked, kept and registered.
local requests = {}
local i = 0

function init(args)
  local token = os.getenv("BENCH_TOKEN")
  local body = '{"recipient":"' .. os.getenv("BENCH_RECIPIENT") .. '"}'
  for id in io.lines(os.getenv("BENCH_IDS")) do
    requests[#requests + 1] = wrk.format("POST", "/v1/subjects/" .. id .. "/checks/credit-report", {
      ["Authorization"] = "Bearer " .. token,
      ["Senim-Purpose"] = "loan_application_review",
      ["Content-Type"] = "application/json",
    }, body)
  end
end

request = function()
  i = i % #requests + 1
  return requests[i]
end
