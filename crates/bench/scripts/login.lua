-- wrk script: Timbu logins, cycling through BENCH_ACCOUNTS accounts that run.sh signed up
-- (bench-login-<n>@example.com, one password). done() prints machine-readable figures.
local accounts = tonumber(os.getenv("BENCH_ACCOUNTS") or "16")
local counter = 0

request = function()
  counter = counter + 1
  local body = string.format(
    '{"email":"bench-login-%d@example.com","password":"correct horse battery"}',
    counter % accounts)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end

-- report.lua sits beside this script.
done = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")
