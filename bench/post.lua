-- wrk script: POST the same certificate (the file named by $BENCH_BODY) on every request. With
-- certvet this is the cache-hit case; the ceilings receive the same body.
local f = assert(io.open(os.getenv("BENCH_BODY"), "r"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
