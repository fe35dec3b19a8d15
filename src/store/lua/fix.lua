-- GPS: a car's own tracker, a truck's fix, and that fix carried to its cars.

-- Every GPS call that gets past its revision check moves the revision by
-- one, whatever it answers: the caller, which expects one step per call,
-- then knows every copy of the context it holds is exact or out of date.

-- A GPS fix applied to one car, once judged new and clean, its revision
-- already stepped (`o.rev`, written here on every path): a late fix joins
-- the track; only the newest moves the car, and only with the newest are
-- its conclusions written. Answers {status, code, detail, truck, since, rev}.
local function apply_fix(o, k, a)
  local function answer(status, code)
    return {status, code, '', o.truck, tostring(o.truck_since), tostring(o.rev)}
  end
  local function only(status, code)
    redis.call('HSET', k.order, 'rev', o.rev)
    record(k.log, status, code, false, '', a.rec)
    return answer(status, code)
  end
  if a.noise ~= '' then return only('filtered', a.noise) end
  -- An ended order's history is closed: a fix after it (a car's own
  -- tracker reporting on after the handover) is answered, not kept, so the
  -- history stops growing and the archive can take it.
  if o.milestone == 'delivered' or o.milestone == 'cancelled' then
    redis.call('HSET', k.order, 'rev', o.rev)
    return answer('stale', '')
  end
  -- The road travelled, as customers see it: never the bays of a site.
  if str(o.site) == '' then keep(k.track, a.at, a.member) end
  if a.at < o.pos_at or a.truck_stale == '1' then return only('stale', '') end
  local fields = {'pos', a.position, 'pos_at', a.at, 'updated_at', a.received, 'rev', o.rev}
  if a.geo ~= '' then fields[#fields + 1] = 'geo'; fields[#fields + 1] = a.geo end
  local inside = str(o.site)
  if a.eta_ms ~= '' then
    -- The conclusions of this fix: its ETA, the site it is shown at
    -- ('' unchanged, '-' out of any), alerts.
    fields[#fields + 1] = 'eta'; fields[#fields + 1] = a.eta_ms
    if a.leg ~= '' then fields[#fields + 1] = 'leg'; fields[#fields + 1] = a.leg end
    if a.site == '-' then
      if inside ~= '' then redis.call('HDEL', k.order, 'site') end
      inside = ''
    elseif a.site ~= '' then
      fields[#fields + 1] = 'site'; fields[#fields + 1] = a.site
      inside = a.site
    end
  end
  redis.call('HSET', k.order, unpack(fields))
  tell(o, k.log, a.channel, inside ~= '' and 'q' or 'p', false, a.rec)
  if a.eta_rec ~= '' then
    redis.call('HSET', k.order, 'eta_told', a.eta_ms)
    tell(o, k.log, a.channel, 'e', false, a.eta_rec)
  end
  if a.notice ~= '' and not o.arriving then
    redis.call('HSET', k.order, 'arriving', '1')
    tell(o, k.log, a.channel, 'n', false, a.notice)
  end
  alert_ops(k.alerts, a.channel, a.alerts)
  return answer('accepted', '')
end

-- Checks a caller's expected revision of an order and steps it; `nil`
-- when the caller's copy is out of date. `done(status, code, detail)`
-- answers without applying, the step written.
local function step(o, key, expect_rev)
  if expect_rev ~= '' and o.rev ~= num(expect_rev) then return nil end
  o.rev = o.rev + 1
  return function(status, code, detail)
    redis.call('HSET', key, 'rev', o.rev)
    return {status, code, detail or '', o.truck, tostring(o.truck_since), tostring(o.rev)}
  end
end

local function retry(o)
  return {'retry', '', '', o.truck, tostring(o.truck_since), ''}
end

-- A fix of a car's own tracker.
local function fix(keys, argv)
  local order, log, track, alerts = keys[1], keys[2], keys[3], keys[4]
  local ids_prev, ids_this, ids_next = keys[5], keys[6], keys[7]
  local carrier, event_id, digest, target = argv[1], argv[2], argv[3], argv[4]
  local bucket, span = argv[5], argv[6]
  local at, received, rec = num(argv[7]), argv[8], argv[9]
  local channel, noise, position, member = argv[10], argv[11], argv[12], argv[13]
  local geo, eta_ms, eta_rec, notice, site, alerts_json = argv[14], argv[15], argv[16], argv[17], argv[18], argv[19]
  local leg, expect_rev = argv[20], argv[21]
  local k = {order = order, log = log, track = track, alerts = alerts}
  local a = {at = at, received = received, rec = rec, channel = channel,
    noise = noise, position = position, member = member, truck_stale = '', geo = geo,
    eta_ms = eta_ms, eta_rec = eta_rec, notice = notice, site = site, alerts = alerts_json, leg = leg}

  local o = read_order(k.order)
  if not o then return {'rejected', 'unknown_order', '', '', '0', ''} end
  if o.carrier_id ~= carrier then return {'rejected', 'not_your_order', '', '', '0', ''} end
  local done = step(o, k.order, expect_rev)
  if not done then return retry(o) end
  local ids, prior = dedupe(ids_prev, ids_this, ids_next, bucket, span, event_id)
  local seen, other = judge_seen(prior, digest)
  if seen == 'duplicate' then return done('duplicate', '') end
  if seen then return done('rejected', 'event_id_reused', other) end
  remember(ids, event_id, digest .. '|' .. target, span)
  return apply_fix(o, k, a)
end

-- A truck's fix carried to one car on board, after the truck's own
-- (`truck_fix`, earlier in the same pipeline) recorded it for the carrier:
-- a fix the truck did not take as this very event moves no car. On a
-- Redis Cluster the carrier's ids live in another slot: a claim there came
-- first instead, `check_taken` is '' and the `taken_*` keys are unused.
-- The car's own ids make a retry apply it once.
local function carried_fix(keys, argv)
  local order, log, track, alerts = keys[1], keys[2], keys[3], keys[4]
  local ids_prev, ids_this, ids_next = keys[5], keys[6], keys[7]
  local taken_prev, taken_this, taken_next = keys[8], keys[9], keys[10]
  local carrier, event_id, digest, target = argv[1], argv[2], argv[3], argv[4]
  local bucket, span, truck_id = argv[5], argv[6], argv[7]
  local at, received, rec = num(argv[8]), argv[9], argv[10]
  local channel, noise, position, member = argv[11], argv[12], argv[13], argv[14]
  local truck_stale, eta_ms, eta_rec, notice, site, alerts_json = argv[15], argv[16], argv[17], argv[18], argv[19], argv[20]
  local leg, expect_rev, check_taken = argv[21], argv[22], argv[23]
  local k = {order = order, log = log, track = track, alerts = alerts}
  local a = {at = at, received = received, rec = rec, channel = channel,
    noise = noise, position = position, member = member, truck_stale = truck_stale, geo = '',
    eta_ms = eta_ms, eta_rec = eta_rec, notice = notice, site = site, alerts = alerts_json, leg = leg}

  local o = read_order(k.order)
  if not o then return {'rejected', 'unknown_order', '', '', '0', ''} end
  if o.carrier_id ~= carrier then return {'rejected', 'not_your_order', '', '', '0', ''} end
  local done = step(o, k.order, expect_rev)
  if not done then return retry(o) end
  if o.truck ~= truck_id or a.at < o.truck_since then return done('skip', '') end
  if check_taken == '1' then
    local _, taken = dedupe(taken_prev, taken_this, taken_next, bucket, span, event_id)
    if taken ~= digest .. '|' .. target then return done('skip', '') end
  end
  local ids, prior = dedupe(ids_prev, ids_this, ids_next, bucket, span, event_id)
  if prior then return done('duplicate', '') end
  remember(ids, event_id, digest .. '|' .. target, span)
  return apply_fix(o, k, a)
end

-- A truck's own GPS fix: moves the truck; the cars on board are applied
-- one by one with `fix` (via this truck).
local function truck_fix(keys, argv)
  local truck_key, on_board_key, track = keys[1], keys[2], keys[3]
  local ids_prev, ids_this, ids_next = keys[4], keys[5], keys[6]
  local carrier, event_id, digest, target = argv[1], argv[2], argv[3], argv[4]
  local bucket, span = argv[5], argv[6]
  local at, noise, position, member = num(argv[7]), argv[8], argv[9], argv[10]
  local geo, channel, truck_id, expect_rev = argv[11], argv[12], argv[13], argv[14]

  -- A truck its carrier loaded a car on has a carrier (bind sets it).
  local t = redis.call('HMGET', truck_key, 'carrier_id', 'pos_at', 'rev')
  if not t[1] then return {'rejected', 'unknown_truck', '', {}, ''} end
  local pos_at, rev = num(t[2]), num(t[3])
  local on_board = redis.call('ZRANGE', on_board_key, 0, -1)
  if expect_rev ~= '' and rev ~= num(expect_rev) then return {'retry', '', '', on_board, ''} end
  rev = rev + 1
  local function done(status, code, detail)
    redis.call('HSET', truck_key, 'rev', rev)
    return {status, code, detail or '', on_board, tostring(rev)}
  end
  local ids, prior = dedupe(ids_prev, ids_this, ids_next, bucket, span, event_id)
  local seen, other = judge_seen(prior, digest)
  if seen == 'duplicate' then return done('duplicate', '') end
  if seen then return done('rejected', 'event_id_reused', other) end
  remember(ids, event_id, digest .. '|' .. target, span)
  if noise ~= '' then return done('filtered', noise) end
  keep(track, at, member)
  if at < pos_at then return done('stale', '') end
  if geo ~= '' then
    redis.call('HSET', truck_key, 'pos', position, 'pos_at', at, 'geo', geo, 'rev', rev)
  else
    redis.call('HSET', truck_key, 'pos', position, 'pos_at', at, 'rev', rev)
  end
  publish_truck(channel, carrier, truck_id, position)
  return {'accepted', '', '', on_board, tostring(rev)}
end
