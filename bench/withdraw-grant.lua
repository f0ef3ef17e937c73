-- wrk: durable consent operations with signed receipts.  Each borrower in
-- BENCH_TOKENS (a file, one borrower token a line) grants marketing_sms;
-- the id in the answer is withdrawn by a later request, and the grant
-- comes again — so every request writes a ledger row, a sealed evidence
-- blob, a signed receipt and an audit record.
local tokens = {}
local pending = {}
local t = 0
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end

request = function()
  local p = table.remove(pending)
  if p then
    return wrk.format("DELETE", "/v1/me/consents/" .. p.id, {
      ["Authorization"] = "Bearer " .. p.token,
    })
  end
  t = t % #tokens + 1
  wrk.thread_token = tokens[t]
  return wrk.format("POST", "/v1/me/consents", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[t],
    ["User-Agent"] = "bench/1.0",
  }, '{"kind":"marketing_sms","channel":"android"}')
end

response = function(status, headers, body)
  if status == 201 then
    local id = body:match('"id":"(cns_[^"]+)"')
    local sid = body:match('"pii_principal_id":"(sbj_[^"]+)"')
    if id then
      -- the token that owns it: the borrower's token is looked up by subject
      local tok = owner[sid]
      if tok then pending[#pending + 1] = { id = id, token = tok } end
    end
  end
end

owner = {}
for line in io.lines(os.getenv("BENCH_OWNERS")) do
  local sid, tok = line:match("^(%S+)%s+(%S+)$")
  owner[sid] = tok
end
