-- Webhook deliveries. The functions that change an order put what
-- webhooks report in the partition's outbox (library.lua, `outbox`); an
-- instance turns each entry into deliveries, one per endpoint that wants
-- it, and sends them. Each order's deliveries to one endpoint wait in a
-- line: only the first is ever due, so an endpoint hears them in order.

-- Turns one outbox entry into its deliveries (a JSON array of {id, line,
-- list, at, json}) and lets the entry go. A delivery made before (the
-- same entry read twice) is not made again.
local function enqueue(keys, argv)
  local outbox, deliveries, due = keys[1], keys[2], keys[3]
  local group, entry_id, now_ms, items = argv[1], argv[2], argv[3], argv[4]
  for _, d in ipairs(cjson.decode(items)) do
    if redis.call('HSETNX', deliveries, d.id, d.json) == 1 then
      if redis.call('RPUSH', d.line, d.id) == 1 then redis.call('ZADD', due, now_ms, d.id) end
      redis.call('ZADD', d.list, d.at, d.id)
    end
  end
  redis.call('XACK', outbox, group, entry_id)
  redis.call('XDEL', outbox, entry_id)
  return 1
end

-- Takes up to `limit` deliveries due by `now_ms`, each leased until
-- `lease_ms`: an instance that dies sending lets them come due again.
local function take(keys, argv)
  local due, deliveries = keys[1], keys[2]
  local now_ms, lease_ms, limit = argv[1], argv[2], argv[3]
  local out = {}
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', due, '-inf', now_ms, 'LIMIT', 0, limit)) do
    local d = redis.call('HGET', deliveries, id)
    if d then
      redis.call('ZADD', due, lease_ms, id)
      out[#out + 1] = d
    else
      redis.call('ZREM', due, id)
    end
  end
  return out
end

-- Records an attempt (the delivery's new JSON). With `next_ms` it is due
-- again then; without, it is done (delivered or failed) and the next of
-- its line comes due now.
local function attempt(keys, argv)
  local deliveries, due = keys[1], keys[2]
  local id, json, next_ms, line, now_ms = argv[1], argv[2], argv[3], argv[4], argv[5]
  redis.call('HSET', deliveries, id, json)
  if next_ms ~= '' then
    redis.call('ZADD', due, next_ms, id)
    return 1
  end
  redis.call('ZREM', due, id)
  if redis.call('LINDEX', line, 0) == id then
    redis.call('LPOP', line)
    local following = redis.call('LINDEX', line, 0)
    if following then redis.call('ZADD', due, now_ms, following) end
  end
  return 1
end

-- A failed delivery sent again by hand: back at the end of its line.
local function redeliver(keys, argv)
  local deliveries, due = keys[1], keys[2]
  local id, json, line, now_ms = argv[1], argv[2], argv[3], argv[4]
  redis.call('HSET', deliveries, id, json)
  if redis.call('RPUSH', line, id) == 1 then redis.call('ZADD', due, now_ms, id) end
  return 1
end
