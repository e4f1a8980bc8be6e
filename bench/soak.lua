-- wrk script for bench/soak: a mix of what certvet's users do, in turn on each connection:
-- verify one certificate (importer), ingest a certificate (ERP upload: 20,000 numbers per thread
-- in turn, so the store grows, then upserts), score a supplier (procurement), read the alerts
-- (nightly job's readers), the scored portfolio page. Each thread numbers its certificates apart.
local n = 0
local tid = 0
local verify = [[{"certificate_number":"SOAK-VERIFY","standard":"ISO 9001:2015","holder":{"name":"Soak Test Ltd","country":"GB"},"certification_body":{"name":"Northwind Assurance Ltd"},"accreditation_body":"UKAS","scope":"Injection moulding of polymer components","issue_date":"2025-01-10","expiry_date":"2028-01-09","audits":[{"type":"surveillance","date":"2026-01-12"}]}]]
local ingest = [[{"certificate_number":"SOAK-%d-%d","standard":"ISO 14001:2015","holder":{"name":"Soak Test Ltd","country":"GB"},"certification_body":{"name":"Northwind Assurance Ltd"},"accreditation_body":"UKAS","scope":"Assembly","issue_date":"2025-03-01","expiry_date":"2028-02-28"}]]
local json = {["Content-Type"] = "application/json"}
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function request()
  n = n + 1
  local k = n % 5
  if k == 0 then
    return wrk.format("POST", "/v1/verify", json, verify)
  elseif k == 1 then
    return wrk.format("POST", "/v1/certificates", json, string.format(ingest, tid, n % 20000))
  elseif k == 2 then
    return wrk.format("GET", "/v1/suppliers/SUP-001/score?profile=general")
  elseif k == 3 then
    return wrk.format("GET", "/v1/alerts?within=30")
  end
  return wrk.format("GET", "/v1/suppliers?profile=general&limit=20")
end

local bad = 0
function response(status, headers, body)
  if status >= 500 then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local five = 0
  for _, t in ipairs(threads) do
    five = five + (t:get("bad") or 0)
  end
  io.write(string.format("soak: requests %d, 5xx %d, non-2xx %d, socket errors %d\n",
    summary.requests, five, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
