-- Webhook deliveries. The functions that change an order put what
-- webhooks report in the partition's outbox (library.lua, `outbox`); an
-- instance turns each entry into deliveries, one per endpoint that wants
-- it, and sends them. Each order's deliveries to one endpoint wait in a
-- line: only the first is ever due, so an endpoint hears them in order.

-- Turns one outbox entry into its deliveries (argv after `now_ms`, five
-- at a time: id, line, list, at, json) and lets the entry go: 1. A delivery made before (the
-- same entry read twice) is not made again. While an earlier entry of the
-- outbox is still held by a reader (two instances read side by side, or
-- one that died holding it), nothing is done: 0, and the entry is tried
-- again, so an order's deliveries are queued in the order of its changes.
local function enqueue(keys, argv)
  local outbox, deliveries, due = keys[1], keys[2], keys[3]
  local group, entry_id, now_ms = argv[1], argv[2], argv[3]
  if #redis.call('XPENDING', outbox, group, '-', '(' .. entry_id, 1) > 0 then return 0 end
  for i = 4, #argv, 5 do
    local id, line, list, at, json = unpack(argv, i, i + 4)
    if redis.call('HSETNX', deliveries, id, json) == 1 then
      if redis.call('RPUSH', line, id) == 1 then redis.call('ZADD', due, now_ms, id) end
      redis.call('ZADD', list, at, id)
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
-- its line comes due now. `lease_ms` is the lease it was taken with: an
-- attempt that outlived its lease (the delivery taken again since) is
-- not recorded (0), so it cannot overwrite the newer one.
local function attempt(keys, argv)
  local deliveries, due = keys[1], keys[2]
  local id, json, next_ms, line, now_ms, lease_ms = argv[1], argv[2], argv[3], argv[4], argv[5], argv[6]
  if tonumber(redis.call('ZSCORE', due, id)) ~= tonumber(lease_ms) then return 0 end
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

-- Forgets an endpoint's finished deliveries made before `before` (a rank
-- of its list), up to `most`; a delivery still pending stays. Answers how
-- many it forgot and how many it looked at.
local function forget_deliveries(keys, argv)
  local list, deliveries = keys[1], keys[2]
  local before, most = argv[1], argv[2]
  local ids = redis.call('ZRANGEBYSCORE', list, '-inf', '(' .. before, 'LIMIT', 0, most)
  local forgot = 0
  for _, id in ipairs(ids) do
    local d = redis.call('HGET', deliveries, id)
    if not d or cjson.decode(d).status ~= 'pending' then
      redis.call('HDEL', deliveries, id)
      redis.call('ZREM', list, id)
      forgot = forgot + 1
    end
  end
  return {forgot, #ids}
end

-- A finished delivery sent again by hand: back at the end of its line.
-- One already pending (two retries at once) is left as it is: 0.
local function redeliver(keys, argv)
  local deliveries, due = keys[1], keys[2]
  local id, json, line, now_ms = argv[1], argv[2], argv[3], argv[4]
  local was = redis.call('HGET', deliveries, id)
  if not was or cjson.decode(was).status == 'pending' then return 0 end
  redis.call('HSET', deliveries, id, json)
  if redis.call('RPUSH', line, id) == 1 then redis.call('ZADD', due, now_ms, id) end
  return 1
end
