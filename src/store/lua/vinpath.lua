#!lua name=vinpath2
-- vinpath's Redis functions: each applies one event to one order (or one
-- truck) atomically, so instances racing on the same order end consistent.
-- Every key a function touches shares one hash slot (the order's or the
-- truck's), ready for Redis Cluster. The rules themselves (which milestone
-- may follow which) are decided in Rust and passed in as verdict letters.
--
-- The library and its functions carry a version (vinpath2_): bump it with
-- any change to a function's arguments or answers, so instances of two
-- versions share one Redis during a rollout, each with its own functions
-- (FUNCTION LOAD REPLACE of one never removes the other's).

-- Milestone positions in the order of Milestone::ALL (checked by a Rust
-- test). A literal: library load time offers no ipairs.
local INDEX = {ordered = 1, produced = 2, released = 3, loaded = 4, in_transit = 5,
  arrived = 6, unloaded = 7, gated_in = 8, in_storage = 9, pdi = 10, in_repair = 11,
  ready_for_delivery = 12, out_for_delivery = 13, delivered = 14, on_hold = 15, cancelled = 16}
local ON_TRUCK = {loaded = true, in_transit = true, arrived = true}
local FINAL = {delivered = true, cancelled = true}

local function num(v) return tonumber(v) or 0 end
local function str(v) if v then return v end return '' end

local function seen(keys, first, member)
  for i = first, #keys do
    if redis.call('SISMEMBER', keys[i], member) == 1 then return true end
  end
  return false
end

-- Keeps a clean fix in a vehicle's track (its last 2000 fixes by time).
local function keep(key, at, member)
  if member == '' then return end
  redis.call('ZADD', key, at, member)
  if redis.call('ZCARD', key) > 2000 then redis.call('ZREMRANGEBYRANK', key, 0, -2001) end
end

local function remember(key, member, ttl)
  if member ~= '' then
    redis.call('SADD', key, member)
    redis.call('EXPIRE', key, ttl)
  end
end

-- Order event.
-- KEYS: 1 order hash, 2 history stream, 3 timeline list, 4 track (zset of kept fixes),
--       5.. dedupe sets (newest first)
-- ARGV: 1 kind (scan|fix|cancel), 2 carrier ('' = any), 3 dedupe member ('' = none),
--       4 occurred_at ms, 5 received_at ms, 6 noise code, 7 record json,
--       8 history max length, 9 dedupe ttl s, 10 live channel,
--       11 scan/cancel: milestone; fix: position json
--       12 scan/cancel: verdicts by current milestone; fix: truck it came through ('' = own)
--       13 scan/cancel: verdicts from on_hold by held-from milestone
--       14 scan: truck id, 15 scan: position json, 16 scan: vin, 17 scan: site json
--       13 fix: '1' when the truck judged the fix stale; 14 fix: track member
--       15.. fix, when the geo pass found it to be the car's newest: 15 the
--       vehicle's geo state ('' when it is the truck's), 16 eta ms ('' =
--       nothing for the car), 17 eta record ('' = not worth telling),
--       18 notice record ('' = none), 19 site json the car is in ('' = none).
--       Written only if the fix still is the newest when applied.
-- Returns {status, code, milestone, truck, cursor, old truck, message,
--          truck since, old truck since}
local function apply(keys, argv)
  local o = keys[1]
  local f = redis.call('HMGET', o, 'order_id', 'carrier_id', 'm', 'stale_at', 'held',
    'truck', 'truck_since', 'pos_at', 'vin', 'site', 'arriving')
  if not f[1] then return {'rejected', 'unknown_order'} end
  local order_id, carrier, cur = f[1], f[2], f[3]
  local stale_at, held, truck = num(f[4]), str(f[5]), str(f[6])
  local truck_since, pos_at, vin = num(f[7]), num(f[8]), str(f[9])
  local inside, arriving = str(f[10]), f[11]
  local kind, member, at, received = argv[1], argv[3], num(argv[4]), argv[5]
  local function answer(status, code, cursor, message)
    return {status, code, cur, truck, cursor or '', '', message or '', tostring(truck_since), ''}
  end
  if argv[2] ~= '' and carrier ~= argv[2] then return answer('rejected', 'not_your_order') end
  if kind == 'scan' and str(argv[16]) ~= '' and vin ~= '' and argv[16] ~= vin then
    return answer('rejected', 'invalid_field', '', 'vin does not match the order\'s VIN ' .. vin)
  end
  if member ~= '' and seen(keys, 5, member) then return answer('duplicate', '') end
  local via = ''
  if kind == 'fix' then via = argv[12] end
  if via ~= '' and (truck ~= via or at < truck_since) then return answer('skip', '') end

  local function record(status, code, gap, change)
    local fields = {'s', status, 'e', argv[7]}
    if code ~= '' then fields[#fields + 1] = 'c'; fields[#fields + 1] = code end
    if gap then fields[#fields + 1] = 'g'; fields[#fields + 1] = '1' end
    if change ~= '' then fields[#fields + 1] = 'x'; fields[#fields + 1] = change end
    local id = redis.call('XADD', keys[2], 'MAXLEN', argv[8], '*', unpack(fields))
    remember(keys[5], member, argv[9])
    return id
  end

  if argv[6] ~= '' then
    return answer('filtered', argv[6], record('filtered', argv[6], false, ''))
  end

  local milestone, new_truck, gap, change = cur, truck, false, ''
  local new_since = truck_since
  local concluded = false
  if kind == 'fix' then
    if FINAL[cur] then
      return answer('stale', '', record('stale', '', false, ''))
    end
    -- A clean fix joins the track even when late; only a newer one moves
    -- the car. 13: the truck itself judged this fix stale.
    keep(keys[4], at, argv[14])
    if at < pos_at or argv[13] == '1' then
      return answer('stale', '', record('stale', '', false, ''))
    end
    local fields = {'pos', argv[11], 'pos_at', at, 'updated_at', received}
    if str(argv[15]) ~= '' then fields[#fields + 1] = 'geo'; fields[#fields + 1] = argv[15] end
    if str(argv[16]) ~= '' then
      concluded, inside = true, argv[19]
      fields[#fields + 1] = 'eta'; fields[#fields + 1] = argv[16]
      if inside ~= '' then
        fields[#fields + 1] = 'site'; fields[#fields + 1] = inside
      elseif f[10] then
        redis.call('HDEL', o, 'site')
      end
    end
    redis.call('HSET', o, unpack(fields))
    change = 'p'
  else
    local to = argv[11]
    local verdict
    if cur == 'on_hold' then
      local h = INDEX[held]
      if h then verdict = string.sub(argv[13], h, h) else verdict = 'X' end
    else
      local c = INDEX[cur]
      verdict = string.sub(argv[12], c, c)
    end
    if verdict ~= 'S' and verdict ~= 'D' and verdict ~= 'G' then
      return answer('rejected', 'illegal_transition')
    end
    if kind == 'scan' and at < stale_at then
      return answer('stale', '', record('stale', '', false, ''))
    end
    local scan_vin = str(argv[16])
    if scan_vin ~= '' and vin == '' then redis.call('HSET', o, 'vin', scan_vin) end
    -- 17: the site the scan names ('' none, '-' the car left any site).
    local site = str(argv[17])
    if site == '-' then
      redis.call('HDEL', o, 'site'); inside = ''
    elseif site ~= '' then
      redis.call('HSET', o, 'site', site); inside = site
    end
    if to == 'loaded' and str(argv[14]) ~= '' then new_truck = argv[14] end
    if verdict == 'S' then
      -- The same milestone again: only details change, but a later scan
      -- still makes older ones stale.
      if at > stale_at then redis.call('HSET', o, 'stale_at', at) end
    else
      milestone, gap, change = to, verdict == 'G', 'm'
      redis.call('HSET', o, 'm', to, 'm_at', at, 'stale_at', at)
      if to == 'on_hold' then
        redis.call('HSET', o, 'held', cur)
      elseif cur == 'on_hold' then
        redis.call('HSET', o, 'held', '')
      end
      if to == 'delivered' then redis.call('HSET', o, 'delivered_at', at) end
      redis.call('RPUSH', keys[3], cjson.encode({milestone = to, at = at, gap = gap}))
    end
    if not ON_TRUCK[milestone] then new_truck = '' end
    if new_truck ~= truck then
      redis.call('HSET', o, 'truck', new_truck, 'truck_since', at)
      new_since = at
    end
    local pos = str(argv[15])
    if pos ~= '' and at >= pos_at and not FINAL[milestone] then
      redis.call('HSET', o, 'pos', pos, 'pos_at', at)
      change = change .. 'p'
    end
  end
  if kind ~= 'fix' then redis.call('HSET', o, 'updated_at', received) end
  -- Inside a site the customer sees the site, not the bay: the move is 'q',
  -- a position for dispatchers only.
  if inside ~= '' then change = (string.gsub(change, 'p', 'q')) end
  local id = record('accepted', '', gap, change)
  local head = '{"kind":"order","order_id":' .. cjson.encode(order_id) ..
    ',"carrier_id":' .. cjson.encode(carrier) .. ',"truck_id":' .. cjson.encode(new_truck) ..
    ',"milestone":"' .. milestone .. '","cursor":"'
  local function tell(cursor, what, g, event)
    redis.call('PUBLISH', argv[10], head .. cursor .. '","change":"' .. what ..
      '","gap":' .. tostring(g) .. ',"event":' .. event .. '}')
  end
  if change ~= '' then tell(id, change, gap, argv[7]) end
  -- What the newest fix means for the customer, after the fix itself.
  local function notify(rec, what)
    tell(redis.call('XADD', keys[2], 'MAXLEN', argv[8], '*', 's', 'accepted', 'e', rec, 'x', what), what, false, rec)
  end
  if concluded and argv[17] ~= '' then
    redis.call('HSET', o, 'eta_told', argv[16])
    notify(argv[17], 'e')
  end
  if concluded and argv[18] ~= '' and not arriving then
    redis.call('HSET', o, 'arriving', '1')
    notify(argv[18], 'n')
  end
  return {'accepted', gap and 'gap' or '', milestone, new_truck, id, truck, '',
    tostring(new_since), tostring(truck_since), cur}
end

-- Truck fix: moves the truck itself; the orders on board are then applied
-- one by one with `apply` (kind fix, through this truck).
-- KEYS: 1 truck hash, 2 orders on board (zset, scored by loading time), 3 track,
--       4.. dedupe sets (newest first)
-- ARGV: 1 carrier, 2 truck id, 3 dedupe member, 4 occurred_at ms, 5 noise code,
--       6 position json, 7 dedupe ttl s, 8 live channel, 9 track member,
--       10 the truck's geo state from this fix ('' = none), written with it
-- Returns {status, code, {orders on board}}
local function truck_fix(keys, argv)
  if redis.call('EXISTS', keys[1]) == 0 then return {'rejected', 'unknown_truck', {}} end
  local on_board = redis.call('ZRANGE', keys[2], 0, -1)
  local member, at = argv[3], num(argv[4])
  if seen(keys, 4, member) then return {'duplicate', '', on_board} end
  remember(keys[4], member, argv[7])
  if argv[5] ~= '' then return {'filtered', argv[5], on_board} end
  keep(keys[3], at, argv[9])
  if at < num(redis.call('HGET', keys[1], 'pos_at')) then return {'stale', '', on_board} end
  if str(argv[10]) ~= '' then
    redis.call('HSET', keys[1], 'pos', argv[6], 'pos_at', at, 'geo', argv[10])
  else
    redis.call('HSET', keys[1], 'pos', argv[6], 'pos_at', at)
  end
  redis.call('PUBLISH', argv[8], '{"kind":"truck","carrier_id":' .. cjson.encode(argv[1]) ..
    ',"truck_id":' .. cjson.encode(argv[2]) .. ',"position":' .. argv[6] .. '}')
  return {'accepted', '', on_board}
end

-- Creates an order unless it exists.
-- KEYS: 1 order hash, 2 timeline list. ARGV: 1 first timeline entry, 2.. field, value pairs
local function create(keys, argv)
  if redis.call('EXISTS', keys[1]) == 1 then return 0 end
  redis.call('HSET', keys[1], unpack(argv, 2))
  redis.call('RPUSH', keys[2], argv[1])
  return 1
end

-- Changes an order's fields; the VIN only until the car is produced.
-- KEYS: 1 order hash. ARGV: field, value pairs. Returns ok, missing or vin_locked.
local function patch(keys, argv)
  local m = redis.call('HGET', keys[1], 'm')
  if not m then return 'missing' end
  for i = 1, #argv, 2 do
    if argv[i] == 'vin' and m ~= 'ordered' and redis.call('HGET', keys[1], 'vin') ~= argv[i + 1] then
      return 'vin_locked'
    end
  end
  if #argv > 0 then redis.call('HSET', keys[1], unpack(argv)) end
  return 'ok'
end

-- Points an order at a new tracking token hash; returns the old hash.
-- KEYS: 1 order hash. ARGV: 1 new hash.
local function rotate(keys, argv)
  local old = redis.call('HGET', keys[1], 'track')
  if not old then return false end
  redis.call('HSET', keys[1], 'track', argv[1])
  return old
end

redis.register_function('vinpath2_create', create)
redis.register_function('vinpath2_patch', patch)
redis.register_function('vinpath2_rotate', rotate)
redis.register_function('vinpath2_apply', apply)
redis.register_function('vinpath2_truck_fix', truck_fix)

-- Attaches a stored clip to one order: the order's clip list, its history
-- and its live subscribers, together.
-- KEYS: 1 order hash, 2 history stream, 3 clips hash
-- ARGV: 1 carrier ('' = any), 2 clip id, 3 clip json, 4 record json,
--       5 history max length, 6 live channel
-- Returns {status, code, cursor}
local function clip(keys, argv)
  local f = redis.call('HMGET', keys[1], 'order_id', 'carrier_id', 'm', 'truck')
  if not f[1] then return {'rejected', 'unknown_order'} end
  if argv[1] ~= '' and f[2] ~= argv[1] then return {'rejected', 'not_your_order'} end
  redis.call('HSET', keys[3], argv[2], argv[3])
  local id = redis.call('XADD', keys[2], 'MAXLEN', argv[5], '*', 's', 'accepted', 'e', argv[4], 'x', 'c')
  redis.call('PUBLISH', argv[6], '{"kind":"order","order_id":' .. cjson.encode(f[1]) ..
    ',"carrier_id":' .. cjson.encode(f[2]) .. ',"truck_id":' .. cjson.encode(str(f[4])) ..
    ',"cursor":"' .. id .. '","milestone":"' .. f[3] .. '","change":"c","gap":false,"event":' .. argv[4] .. '}')
  return {'accepted', '', id}
end

redis.register_function('vinpath2_clip', clip)

-- Takes a car off a truck, unless it was loaded onto it again later than
-- the loading this removal is about (instances may race).
-- KEYS: 1 orders on board (zset). ARGV: 1 order id, 2 loading time (ms) it ends
local function unbind(keys, argv)
  local score = redis.call('ZSCORE', keys[1], argv[1])
  if score and tonumber(score) <= tonumber(argv[2]) then
    redis.call('ZREM', keys[1], argv[1])
  end
  return 1
end

redis.register_function('vinpath2_unbind', unbind)

-- Raises or clears an alert; only the call that changes something tells
-- the fleet, so racing instances announce it once.
-- KEYS: 1 open alerts hash. ARGV: 1 raise|clear, 2 alert id, 3 alert json, 4 live channel
local function alert(keys, argv)
  if argv[1] == 'raise' then
    if redis.call('HSETNX', keys[1], argv[2], argv[3]) == 0 then return 0 end
  else
    local old = redis.call('HGET', keys[1], argv[2])
    if not old then return 0 end
    redis.call('HDEL', keys[1], argv[2])
    argv[3] = old
  end
  redis.call('PUBLISH', argv[4], '{"kind":"alert","state":"' .. (argv[1] == 'raise' and 'raised' or 'cleared') ..
    '","alert":' .. argv[3] .. '}')
  return 1
end

redis.register_function('vinpath2_alert', alert)
