/**
 * The Lua run by `RedisLimitStore`: one script per operation, so each reserve, settle and release
 * is atomic across every replica sharing Redis.
 *
 * Key layout under the prefix (`kind:` tags keep a counter key from colliding with another kind's):
 * - `r:<reservationId>` hash: `deadline`, `n`, then per counter i `k<i>` key, `t<i>` kind,
 *   `a<i>` amount, `x<i>` the budget period it was charged to, `r<i>` remaining (the first result,
 *   returned again to a repeated reserve). PEXPIREd after the reservation TTL.
 * - `w:<key>` / `c:<key>` hash: `total` and `a:<reservationId>` amounts of a window / concurrency
 *   counter; `wz:<key>` / `cz:<key>` sorted set: reservationId scored by the entry's deadline.
 * - `b:<key>` hash: `used` and `exp` (period end, epoch ms; absent = never).
 * - `k:<key>` string: a credit balance.
 *
 * Numbers never go through Lua's `tostring` or `..` (they format with 14 significant digits): they
 * are passed to `redis.call` as numbers, which Redis formats exactly, or kept as the strings they
 * came in as. Keys are built inside the scripts from the prefix, so the store needs a single Redis
 * (or Sentinel), not Redis Cluster: one reservation spans counters of many hash slots anyway.
 */

const library = `
local prefix = ARGV[1]
local now = tonumber(ARGV[2])
local reservationId = ARGV[3]
-- Counter keys outlive their last entry by this much, so a replica whose clock is a little behind
-- still finds them.
local graceMs = 60000

local function counterKeys(kind, key)
  if kind == 'window' then return prefix .. 'w:' .. key, prefix .. 'wz:' .. key end
  if kind == 'concurrent' then return prefix .. 'c:' .. key, prefix .. 'cz:' .. key end
  if kind == 'budget' then return prefix .. 'b:' .. key, nil end
  return prefix .. 'k:' .. key, nil
end

-- Drops a window's or concurrency counter's entries whose deadline has passed; returns the live total.
local function expireLedger(amounts, deadlines)
  local total = tonumber(redis.call('HGET', amounts, 'total') or '0')
  local expired = redis.call('ZRANGEBYSCORE', deadlines, '-inf', now)
  if #expired == 0 then return total end
  for _, member in ipairs(expired) do
    local amount = redis.call('HGET', amounts, 'a:' .. member)
    if amount then
      total = total - tonumber(amount)
      redis.call('HDEL', amounts, 'a:' .. member)
    end
  end
  redis.call('ZREMRANGEBYSCORE', deadlines, '-inf', now)
  redis.call('HSET', amounts, 'total', total)
  return total
end

local function removeEntry(amounts, deadlines, member)
  local amount = redis.call('HGET', amounts, 'a:' .. member)
  if not amount then return end
  redis.call('HDEL', amounts, 'a:' .. member)
  redis.call('ZREM', deadlines, member)
  redis.call('HINCRBY', amounts, 'total', -tonumber(amount))
end

-- A budget's used amount, its period's end ('' = never) and whether the counter is live.
local function readBudget(budgetKey)
  local fields = redis.call('HMGET', budgetKey, 'used', 'exp')
  if not fields[1] then return 0, '', false end
  local ends = fields[2] or ''
  if ends ~= '' and tonumber(ends) <= now then return 0, '', false end
  return tonumber(fields[1]), ends, true
end
`;

/**
 * ARGV: prefix, now, reservationId, reservationTtlMs, windowMs, concurrentRetryHintMs, count, then
 * per counter: kind, key, limit, amount, expiresAt ('' = none).
 * Reply: {1, key, remaining, key, remaining, …} or {0, key, kind, limit, remaining, retryAfterMs}.
 */
export const reserveScript = `${library}
local reservationTtlMs = tonumber(ARGV[4])
local windowMs = tonumber(ARGV[5])
local retryHintMs = tonumber(ARGV[6])
local count = tonumber(ARGV[7])
local reservationKey = prefix .. 'r:' .. reservationId

-- A live reservation with this id: give back its first result, reserve nothing more.
local head = redis.call('HMGET', reservationKey, 'deadline', 'n')
if head[1] then
  if tonumber(head[1]) > now then
    local reply = {1}
    for i = 1, tonumber(head[2]) do
      local fields = redis.call('HMGET', reservationKey, 'k' .. i, 'r' .. i)
      reply[#reply + 1] = fields[1]
      reply[#reply + 1] = tonumber(fields[2])
    end
    return reply
  end
  redis.call('DEL', reservationKey)
end

-- How long until the oldest entries of a window free \`excess\`, walking it in deadline order.
local function windowRetry(amounts, deadlines, excess)
  local freed, start, page = 0, 0, 64
  while true do
    local entries = redis.call('ZRANGE', deadlines, start, start + page - 1, 'WITHSCORES')
    if #entries == 0 then return windowMs end
    for j = 1, #entries, 2 do
      freed = freed + tonumber(redis.call('HGET', amounts, 'a:' .. entries[j]) or '0')
      if freed >= excess then return tonumber(entries[j + 1]) - now end
    end
    start = start + page
  end
end

-- First pass: every counter must agree before any is charged.
local plans = {}
for i = 1, count do
  local at = 8 + (i - 1) * 5
  local kind, key = ARGV[at], ARGV[at + 1]
  local limit, amount, expiresAt = tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3]), ARGV[at + 4]
  local primary, secondary = counterKeys(kind, key)
  local plan = { kind = kind, key = key, amount = amount, primary = primary, secondary = secondary, ends = '', live = false }
  if kind == 'credit' then
    local balance = tonumber(redis.call('GET', primary) or '0')
    if balance < amount then return {0, key, kind, balance, balance, 0} end
    plan.remaining = balance - amount
  else
    local used
    if kind == 'budget' then
      used, plan.ends, plan.live = readBudget(primary)
      if not plan.live then plan.ends = expiresAt end
    else
      used = expireLedger(primary, secondary)
    end
    if used + amount > limit then
      local retry = 0
      if amount <= limit then
        if kind == 'concurrent' then retry = retryHintMs
        elseif kind == 'window' then retry = windowRetry(primary, secondary, used + amount - limit)
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
local record = {'deadline', deadline, 'n', count}
local reply = {1}
for i, plan in ipairs(plans) do
  if plan.kind == 'window' or plan.kind == 'concurrent' then
    local entryDeadline, lifetime = deadline, reservationTtlMs
    if plan.kind == 'window' then entryDeadline, lifetime = now + windowMs, windowMs end
    removeEntry(plan.primary, plan.secondary, reservationId)
    redis.call('HSET', plan.primary, 'a:' .. reservationId, plan.amount)
    redis.call('HINCRBY', plan.primary, 'total', plan.amount)
    redis.call('ZADD', plan.secondary, entryDeadline, reservationId)
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
  record[n + 1], record[n + 2] = 'k' .. i, plan.key
  record[n + 3], record[n + 4] = 't' .. i, plan.kind
  record[n + 5], record[n + 6] = 'a' .. i, plan.amount
  record[n + 7], record[n + 8] = 'x' .. i, plan.ends
  record[n + 9], record[n + 10] = 'r' .. i, plan.remaining
  reply[#reply + 1] = plan.key
  reply[#reply + 1] = plan.remaining
end
redis.call('HSET', reservationKey, unpack(record))
redis.call('PEXPIRE', reservationKey, reservationTtlMs)
return reply
`;

/** Settles (\`actuals\` = key → amount) or releases (\`actuals\` = nil) a live reservation. */
const finish = `
local function finish(actuals)
  local reservationKey = prefix .. 'r:' .. reservationId
  local head = redis.call('HMGET', reservationKey, 'deadline', 'n')
  if not head[1] then return 0 end
  local counters = {}
  for i = 1, tonumber(head[2]) do
    counters[i] = redis.call('HMGET', reservationKey, 'k' .. i, 't' .. i, 'a' .. i, 'x' .. i)
  end
  redis.call('DEL', reservationKey)
  if tonumber(head[1]) <= now then return 0 end
  for _, fields in ipairs(counters) do
    local key, kind, amount, ends = fields[1], fields[2], tonumber(fields[3]), fields[4] or ''
    local used = 0
    if actuals then used = actuals[key] or amount end
    local primary, secondary = counterKeys(kind, key)
    if kind == 'window' then
      expireLedger(primary, secondary)
      if actuals then
        local previous = redis.call('HGET', primary, 'a:' .. reservationId)
        if previous then
          redis.call('HSET', primary, 'a:' .. reservationId, used)
          redis.call('HINCRBY', primary, 'total', used - tonumber(previous))
        end
      else
        removeEntry(primary, secondary, reservationId)
      end
    elseif kind == 'concurrent' then
      removeEntry(primary, secondary, reservationId)
    elseif kind == 'budget' then
      -- A reservation made in an earlier period leaves the new period's counter alone.
      local _, currentEnds, live = readBudget(primary)
      if live and currentEnds == ends and used ~= amount then redis.call('HINCRBY', primary, 'used', used - amount) end
    elseif used ~= amount then
      redis.call('INCRBY', primary, amount - used)
    end
  end
  return 1
end
`;

/** ARGV: prefix, now, reservationId, then pairs of counter key and actual amount. Reply: 1 if it settled something. */
export const settleScript = `${library}${finish}
local actuals = {}
for j = 4, #ARGV, 2 do actuals[ARGV[j]] = tonumber(ARGV[j + 1]) end
return finish(actuals)
`;

/** ARGV: prefix, now, reservationId. Reply: 1 if it released something. */
export const releaseScript = `${library}${finish}
return finish(nil)
`;

/** ARGV: prefix, now, '' (no reservation), kind, key. Reply: usage, or the balance of a credit. */
export const peekScript = `${library}
local kind, key = ARGV[4], ARGV[5]
local primary, secondary = counterKeys(kind, key)
if kind == 'credit' then return tonumber(redis.call('GET', primary) or '0') end
if kind == 'budget' then
  local used = readBudget(primary)
  return used
end
return expireLedger(primary, secondary)
`;
