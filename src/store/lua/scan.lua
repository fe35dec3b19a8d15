-- Milestones: scans (a carrier's, or a crossing a fix implied) and cancels.

-- An order's fields every function reads first, in one HMGET (its
-- revision among them, so checking a caller's copy costs no command).
local ORDER_FIELDS = {'order_id', 'carrier_id', 'm', 'stale_at', 'held', 'truck',
  'truck_since', 'pos_at', 'vin', 'site', 'arriving', 'm_at', 'rev'}

local function read_order(key)
  local f = redis.call('HMGET', key, unpack(ORDER_FIELDS))
  if not f[1] then return nil end
  return {order_id = f[1], carrier_id = str(f[2]), milestone = str(f[3]), stale_at = num(f[4]),
    held = str(f[5]), truck = str(f[6]), truck_since = num(f[7]), pos_at = num(f[8]),
    vin = str(f[9]), site = f[10], arriving = f[11], m_at = num(f[12]), rev = num(f[13])}
end

-- The answer of scan and cancel, always these seven: status, code, detail,
-- milestone, truck, cursor, and the follow-up it left ('' none).
local function scan_answer(status, code, detail, o, cursor, followup)
  return {status, code, detail, str(o.milestone), str(o.truck), cursor, followup or ''}
end

local NONE = {milestone = '', truck = ''}

-- Work that must follow a change on other keys (bindings, alerts): kept on
-- the order until done, so a retry or the repair job completes it.
local function pend(pending_key, index_key, o, from, old_truck, old_since, now_ms)
  local item = cjson.encode({order_id = o.order_id, carrier_id = o.carrier_id,
    from = from, to = o.milestone, old_truck = old_truck, old_since = old_since,
    new_truck = o.truck, new_since = o.truck_since})
  redis.call('RPUSH', pending_key, item)
  redis.call('ZADD', index_key, 'NX', now_ms, o.order_id)
  return item
end

-- A milestone reached: state, timeline, truck, and the follow-ups.
local function move(keys_, o, to, at, gap, truck, ends_alerts, received)
  local order_key, timeline, pending, index, ended = keys_[1], keys_[2], keys_[3], keys_[4], keys_[5]
  local from, old_truck, old_since = o.milestone, o.truck, o.truck_since
  local on_truck = to == 'loaded' or to == 'in_transit' or to == 'arrived'
  if to ~= from then
    redis.call('HSET', order_key, 'm', to, 'm_at', at, 'stale_at', at)
    if to == 'on_hold' then
      redis.call('HSET', order_key, 'held', from)
    elseif from == 'on_hold' then
      redis.call('HSET', order_key, 'held', '')
    end
    if to == 'delivered' then redis.call('HSET', order_key, 'delivered_at', at) end
    -- Ended: the archive takes it some days after (by the time it ended).
    if to == 'delivered' or to == 'cancelled' then redis.call('ZADD', ended, at, o.order_id) end
    redis.call('RPUSH', timeline, cjson.encode({milestone = to, at = at, gap = gap}))
    o.milestone, o.previous = to, from
  elseif at > o.stale_at then
    redis.call('HSET', order_key, 'stale_at', at)
  end
  local new_truck = o.truck
  if to == 'loaded' and truck ~= '' then new_truck = truck end
  if not on_truck then new_truck = '' end
  if new_truck ~= o.truck then
    redis.call('HSET', order_key, 'truck', new_truck, 'truck_since', at)
    o.truck, o.truck_since = new_truck, at
  end
  o.rev = o.rev + 1
  redis.call('HSET', order_key, 'updated_at', received, 'rev', o.rev)
  if new_truck ~= old_truck or (to ~= from and ends_alerts) then
    return pend(pending, index, o, from, old_truck, old_since, received)
  end
  return ''
end

-- A delivery's proof, judged as a scan moves the car into delivered:
-- the customer's code ('code:NNNNNN'; right only for this very delivery
-- run, once, and locked after MAX_TRIES wrong ones) or a
-- customer-not-available record ('away:{json}'), proved when the scan
-- says the car was delivered (`at`). Returns nil when the
-- delivery may go on, else the refusal's code and detail. A wrong code
-- counts against the lock even though the scan is refused.
local MAX_TRIES = 5
local function hand_over(key, proof, required, o, event_id, at)
  if proof == '' then
    if required == '1' then return 'handover_required', '' end
    return nil
  end
  if string.sub(proof, 1, 5) == 'away:' then
    redis.call('HSET', key, 'proof', 'away', 'proof_at', at, 'away', string.sub(proof, 6))
    return nil
  end
  local h = redis.call('HMGET', key, 'code', 'for', 'tries', 'used')
  local code, tries = h[1], num(h[3])
  if not code or h[4] or o.milestone ~= 'out_for_delivery' or num(h[2]) ~= o.m_at then
    return 'handover_code_mismatch', 'none'
  end
  if tries >= MAX_TRIES then return 'handover_code_mismatch', 'locked' end
  if string.sub(proof, 6) ~= code then
    redis.call('HINCRBY', key, 'tries', 1)
    return 'handover_code_mismatch', tostring(tries + 1)
  end
  redis.call('HSET', key, 'used', event_id, 'proof', 'code', 'proof_at', at)
  return nil
end

-- A scan of one order (a carrier's, or a geofence crossing a fix implied).
-- Judged in the contract's order: unusable, duplicate, stale, illegal.
local function scan(keys, argv)
  local order_key, log, timeline, pending, index = keys[1], keys[2], keys[3], keys[4], keys[5]
  local ids_prev, ids_this, ids_next, ended, handover = keys[6], keys[7], keys[8], keys[9], keys[10]
  local carrier, event_id, digest, target = argv[1], argv[2], argv[3], argv[4]
  local bucket, span = argv[5], argv[6]
  local at, received, rec = num(argv[7]), num(argv[8]), argv[9]
  local channel = argv[10]
  local to, by_current, from_hold, ends_alerts = argv[11], argv[12], argv[13], argv[14]
  local truck, position, vin, site = argv[15], argv[16], argv[17], argv[18]
  local only_at_fix, only_from, leg, position_rec = argv[19], argv[20], argv[21], argv[22]
  local proof, proof_required = argv[23], argv[24]

  local o = read_order(order_key)
  if not o then return scan_answer('rejected', 'unknown_order', '', NONE, '') end
  if carrier ~= '' and o.carrier_id ~= carrier then
    return scan_answer('rejected', 'not_your_order', '', o, '')
  end
  if vin ~= '' and o.vin ~= '' and vin ~= o.vin then
    return scan_answer('rejected', 'invalid_field', o.vin, o, '')
  end
  -- A crossing is applied only while the fix that implied it is the car's
  -- position and the car is at the milestone the crossing starts from: a
  -- conclusion drawn from an older fix, or from a copy of the car's state
  -- that another instance changed since, is no conclusion.
  if only_at_fix ~= '' and (o.pos_at ~= num(only_at_fix) or o.milestone ~= only_from) then
    return scan_answer('skip', '', '', o, '')
  end
  local ids, prior = dedupe(ids_prev, ids_this, ids_next, bucket, span, event_id)
  local seen, other = judge_seen(prior, digest)
  if seen == 'duplicate' then
    local todo = redis.call('LLEN', pending)
    return scan_answer('duplicate', todo > 0 and 'pending' or '', '', o, '')
  elseif seen then
    return scan_answer('rejected', 'event_id_reused', other, o, '')
  end

  if at < o.stale_at then
    remember(ids, event_id, digest .. '|' .. target, span)
    local id = record(log, 'stale', '', false, '', rec)
    if to ~= o.milestone then
      redis.call('RPUSH', timeline, cjson.encode({milestone = to, at = at, gap = false}))
    end
    return scan_answer('stale', '', tostring(o.m_at), o, id)
  end
  local verdict
  if o.milestone == 'on_hold' then
    verdict = letter(from_hold, o.held)
    if verdict == '' then verdict = 'X' end
  else
    verdict = letter(by_current, o.milestone)
  end
  if verdict ~= 'S' and verdict ~= 'D' and verdict ~= 'G' then
    return scan_answer('rejected', 'illegal_transition', o.held, o, '')
  end
  if to == 'delivered' and o.milestone ~= 'delivered' then
    local refused, why = hand_over(handover, proof, proof_required, o, event_id, at)
    if refused then return scan_answer('rejected', refused, why, o, '') end
  end
  remember(ids, event_id, digest .. '|' .. target, span)
  if vin ~= '' and o.vin == '' then redis.call('HSET', order_key, 'vin', vin) end
  -- A loading starts a leg: where the car was loaded, when the scan says.
  if leg ~= '' then redis.call('HSET', order_key, 'leg', leg) end
  local gap = verdict == 'G'
  local followup = move({order_key, timeline, pending, index, ended}, o, to, at, gap, truck,
    letter(ends_alerts, o.milestone) == '1', received)
  -- The site the scan places the car at ('-' takes it out of any site).
  local inside = str(o.site)
  if site == '-' then
    if inside ~= '' then redis.call('HDEL', order_key, 'site') end
    inside = ''
  elseif site ~= '' then
    redis.call('HSET', order_key, 'site', site); inside = site
  end
  -- The scan's own entry, always: a milestone told live, or details
  -- (a truck, a note) recorded.
  local id
  if o.previous ~= nil then
    id = tell(o, log, channel, 'm', gap, rec)
  else
    id = record(log, 'accepted', '', false, '', rec)
  end
  local final = o.milestone == 'delivered' or o.milestone == 'cancelled'
  if position ~= '' and at >= o.pos_at and not final then
    redis.call('HSET', order_key, 'pos', position, 'pos_at', at)
    -- Inside a site the customer sees the site, not the bay: 'q' is a
    -- position for dispatchers only. Its own entry, so every live frame
    -- has a cursor of its own.
    id = tell(o, log, channel, inside ~= '' and 'q' or 'p', false, position_rec)
  end
  return scan_answer('accepted', gap and 'gap' or '', '', o, id, followup)
end

-- Cancels an order (the sales system's act, not a scan). A cancel of a
-- cancelled order answers as the first did.
local function cancel(keys, argv)
  local order_key, log, timeline, pending, index, ended = keys[1], keys[2], keys[3], keys[4], keys[5], keys[6]
  local at, rec, channel = num(argv[1]), argv[2], argv[3]
  local o = read_order(order_key)
  if not o then return scan_answer('rejected', 'unknown_order', '', NONE, '') end
  if o.milestone == 'cancelled' then
    local todo = redis.call('LLEN', pending)
    return scan_answer('duplicate', todo > 0 and 'pending' or '', '', o, '')
  end
  if o.milestone == 'delivered' then
    return scan_answer('rejected', 'illegal_transition', '', o, '')
  end
  local followup = move({order_key, timeline, pending, index, ended}, o, 'cancelled', at, false, '', true, at)
  if str(o.site) ~= '' then redis.call('HDEL', order_key, 'site') end
  local id = tell(o, log, channel, 'm', false, rec)
  return scan_answer('accepted', '', '', o, id, followup)
end
