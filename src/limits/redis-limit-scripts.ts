/**
 * The Lua run by `RedisLimitStore`. The reserves made in one turn of the event loop go to Redis as
 * one script call, and so do the settles and releases: each reservation is still reserved, settled
 * or released all or nothing and atomically across every replica sharing Redis (a script runs
 * alone), in the order the calls were made.
 *
 * Key layout under the prefix (`kind:` tags keep a counter key from colliding with another kind's):
 * - `rs:<reservationId>` string: the reservation, MessagePack of its deadline, its counter count and
 *   per counter its key, kind, amount (as the text it came in as), the budget period it was charged
 *   to and the remaining amount (the first result, returned again to a repeated reserve). Expires
 *   with the reservation.
 * - `wn:<key>` / `cn:<key>` string: the live total of a window / concurrency counter;
 *   `we:<key>` / `ce:<key>` sorted set: its entries, member `<amount>:<reservationId>` scored by the
 *   entry's deadline. An entry carries its amount in its name, so expiring entries, settling one or
 *   releasing one touches only the sorted set and the total.
 * - `b:<key>` hash: `used` and `exp` (period end, epoch ms; absent = never).
 * - `k:<key>` string: a credit balance.
 *
 * The calls come as one JSON argument whose numbers are strings: amounts stay the exact digits they
 * came in as. Numbers never go through Lua's `tostring` or `..` (they format with 14 significant
 * digits): they are passed to `redis.call` as numbers, which Redis formats exactly, kept as the
 * strings they came in as, or packed with MessagePack (integers as 64-bit integers). Keys are built
 * inside the scripts from the prefix, so the store needs a single Redis (or Sentinel), not Redis
 * Cluster: one reservation spans counters of many hash slots anyway. Redis 6.2 or later (GETDEL).
 */

const library = `
local prefix = ARGV[1]
-- Counter keys outlive their last entry by this much, so a replica whose clock is a little behind
-- still finds them.
local graceMs = 60000

local function counterKeys(kind, key)
  if kind == 'window' then return prefix .. 'wn:' .. key, prefix .. 'we:' .. key end
  if kind == 'concurrent' then return prefix .. 'cn:' .. key, prefix .. 'ce:' .. key end
  if kind == 'budget' then return prefix .. 'b:' .. key, nil end
  return prefix .. 'k:' .. key, nil
end

-- The amount an entry's member (\`<amount>:<reservationId>\`) carries.
local function entryAmount(member)
  return tonumber(string.sub(member, 1, string.find(member, ':', 1, true) - 1))
end

-- Drops a window's or concurrency counter's entries whose deadline has passed; returns the live total.
local function expireEntries(total, entries, now)
  local live = tonumber(redis.call('GET', total) or '0')
  local expired = redis.call('ZRANGEBYSCORE', entries, '-inf', now)
  if #expired == 0 then return live end
  local freed = 0
  for _, member in ipairs(expired) do freed = freed + entryAmount(member) end
  redis.call('ZREMRANGEBYSCORE', entries, '-inf', now)
  redis.call('INCRBY', total, -freed)
  return live - freed
end

-- A budget's used amount, its period's end ('' = never) and whether the counter is live.
local function readBudget(budgetKey, now)
  local fields = redis.call('HMGET', budgetKey, 'used', 'exp')
  if not fields[1] then return 0, '', false end
  local ends = fields[2] or ''
  if ends ~= '' and tonumber(ends) <= now then return 0, '', false end
  return tonumber(fields[1]), ends, true
end
`;

/**
 * ARGV: prefix, reservationTtlMs, windowMs, concurrentRetryHintMs, then a JSON array of reserves,
 * each `[reservationId, now, [kind, key, limit, amount, expiresAt ('' = none)], …]`.
 * Reply: per reserve `{1, key, remaining, key, remaining, …}` or `{0, key, kind, limit, remaining, retryAfterMs}`.
 */
export const reserveScript = `${library}
local reservationTtlMs = tonumber(ARGV[2])
local windowMs = tonumber(ARGV[3])
local retryHintMs = tonumber(ARGV[4])

-- How long until the oldest entries of a window free \`excess\`, walking it in deadline order.
local function windowRetry(entries, excess, now)
  local freed, start, page = 0, 0, 64
  while true do
    local listed = redis.call('ZRANGE', entries, start, start + page - 1, 'WITHSCORES')
    if #listed == 0 then return windowMs end
    for j = 1, #listed, 2 do
      freed = freed + entryAmount(listed[j])
      if freed >= excess then return tonumber(listed[j + 1]) - now end
    end
    start = start + page
  end
end

local function reserve(call)
  local reservationId, now = call[1], tonumber(call[2])
  local count = #call - 2
  local reservationKey = prefix .. 'rs:' .. reservationId

  -- A live reservation with this id: give back its first result, reserve nothing more.
  local packed = redis.call('GET', reservationKey)
  if packed then
    local record = {cmsgpack.unpack(packed)}
    if record[1] > now then
      local reply = {1}
      for i = 1, record[2] do
        local at = 3 + (i - 1) * 5
        reply[#reply + 1] = record[at]
        reply[#reply + 1] = record[at + 4]
      end
      return reply
    end
    redis.call('DEL', reservationKey)
  end

  -- First pass: every counter must agree before any is charged.
  local plans = {}
  for i = 1, count do
    local counter = call[i + 2]
    local kind, key, amountText, expiresAt = counter[1], counter[2], counter[4], counter[5]
    local limit, amount = tonumber(counter[3]), tonumber(amountText)
    local primary, secondary = counterKeys(kind, key)
    local plan = { kind = kind, key = key, amount = amount, amountText = amountText, primary = primary, secondary = secondary, ends = '', live = false }
    if kind == 'credit' then
      local balance = tonumber(redis.call('GET', primary) or '0')
      if balance < amount then return {0, key, kind, balance, balance, 0} end
      plan.remaining = balance - amount
    else
      local used
      if kind == 'budget' then
        used, plan.ends, plan.live = readBudget(primary, now)
        if not plan.live then plan.ends = expiresAt end
      else
        used = expireEntries(primary, secondary, now)
      end
      if used + amount > limit then
        local retry = 0
        if amount <= limit then
          if kind == 'concurrent' then retry = retryHintMs
          elseif kind == 'window' then retry = windowRetry(secondary, used + amount - limit, now)
          elseif plan.ends ~= '' then retry = tonumber(plan.ends) - now end
        end
        return {0, key, kind, limit, limit - used, retry}
      end
      plan.remaining = limit - used - amount
    end
    plans[i] = plan
  end

  -- Second pass: charge them all and remember what was charged where.
  local deadline = now + reservationTtlMs
  local record = {deadline, count}
  local reply = {1}
  for _, plan in ipairs(plans) do
    if plan.kind == 'window' or plan.kind == 'concurrent' then
      local entryDeadline, lifetime = deadline, reservationTtlMs
      if plan.kind == 'window' then entryDeadline, lifetime = now + windowMs, windowMs end
      -- 0 added: an entry of this reservation with this amount is still there (the id was reserved
      -- before and its record expired first); it is counted once.
      if redis.call('ZADD', plan.secondary, entryDeadline, plan.amountText .. ':' .. reservationId) == 1 then
        redis.call('INCRBY', plan.primary, plan.amount)
      end
      redis.call('PEXPIRE', plan.primary, lifetime + graceMs)
      redis.call('PEXPIRE', plan.secondary, lifetime + graceMs)
    elseif plan.kind == 'budget' then
      if plan.live then
        redis.call('HINCRBY', plan.primary, 'used', plan.amount)
      else
        redis.call('DEL', plan.primary)
        redis.call('HSET', plan.primary, 'used', plan.amount)
        if plan.ends ~= '' then
          redis.call('HSET', plan.primary, 'exp', plan.ends)
          redis.call('PEXPIRE', plan.primary, tonumber(plan.ends) - now + graceMs)
        end
      end
    elseif plan.amount > 0 then
      redis.call('DECRBY', plan.primary, plan.amount)
    end
    local n = #record
    record[n + 1], record[n + 2], record[n + 3], record[n + 4], record[n + 5] = plan.key, plan.kind, plan.amountText, plan.ends, plan.remaining
    reply[#reply + 1] = plan.key
    reply[#reply + 1] = plan.remaining
  end
  redis.call('SET', reservationKey, cmsgpack.pack(unpack(record)), 'PX', reservationTtlMs)
  return reply
end

local replies = {}
for i, call in ipairs(cjson.decode(ARGV[5])) do replies[i] = reserve(call) end
return replies
`;

/**
 * ARGV: prefix, then a JSON array of settles and releases, each `[reservationId, now, actuals]`:
 * actuals `[key, amount, key, amount, …]` to settle, or `false` to release.
 * Reply: per call 1 if it settled or released something, else 0.
 */
export const settleScript = `${library}
local function finish(reservationId, now, actuals)
  local reservationKey = prefix .. 'rs:' .. reservationId
  local packed = redis.call('GETDEL', reservationKey)
  if not packed then return 0 end
  local record = {cmsgpack.unpack(packed)}
  if record[1] <= now then return 0 end
  for i = 1, record[2] do
    local at = 3 + (i - 1) * 5
    local key, kind, amountText, ends = record[at], record[at + 1], record[at + 2], record[at + 3]
    local amount = tonumber(amountText)
    -- Released: nothing was used. Settled: the actual amount, or the reserved one when none is given.
    local usedText = '0'
    if actuals then usedText = actuals[key] or amountText end
    local used = tonumber(usedText)
    local primary, secondary = counterKeys(kind, key)
    if kind == 'window' then
      local member = amountText .. ':' .. reservationId
      if not actuals then
        if redis.call('ZREM', secondary, member) == 1 then redis.call('INCRBY', primary, -amount) end
      elseif used ~= amount then
        -- The entry keeps its deadline and takes the actual amount.
        local score = redis.call('ZSCORE', secondary, member)
        if score then
          redis.call('ZREM', secondary, member)
          redis.call('ZADD', secondary, score, usedText .. ':' .. reservationId)
          redis.call('INCRBY', primary, used - amount)
        end
      end
    elseif kind == 'concurrent' then
      if redis.call('ZREM', secondary, amountText .. ':' .. reservationId) == 1 then redis.call('INCRBY', primary, -amount) end
    elseif kind == 'budget' then
      -- A reservation made in an earlier period leaves the new period's counter alone.
      local _, currentEnds, live = readBudget(primary, now)
      if live and currentEnds == ends and used ~= amount then redis.call('HINCRBY', primary, 'used', used - amount) end
    elseif used ~= amount then
      redis.call('INCRBY', primary, amount - used)
    end
  end
  return 1
end

local replies = {}
for i, call in ipairs(cjson.decode(ARGV[2])) do
  local actuals = false
  if call[3] then
    actuals = {}
    for j = 1, #call[3], 2 do actuals[call[3][j]] = call[3][j + 1] end
  end
  replies[i] = finish(call[1], tonumber(call[2]), actuals)
end
return replies
`;

/** ARGV: prefix, now, kind, key. Reply: usage, or the balance of a credit. */
export const peekScript = `${library}
local now, kind, key = tonumber(ARGV[2]), ARGV[3], ARGV[4]
local primary, secondary = counterKeys(kind, key)
if kind == 'credit' then return tonumber(redis.call('GET', primary) or '0') end
if kind == 'budget' then
  local used = readBudget(primary, now)
  return used
end
return expireEntries(primary, secondary, now)
`;
