/**
 * The Lua run by `RedisLimitStore`. The reserves, settles, releases and renewals made in one turn
 * of the event loop go to Redis as one script call: each reservation is still reserved, settled,
 * released or renewed all or nothing and atomically across every replica sharing Redis (a script
 * runs alone), in the order the calls were made (settles and releases, then renewals, before the
 * reserves they travel with).
 *
 * Key layout under the prefix (`kind:` tags keep a counter key from colliding with another kind's):
 * - `rs:<reservationId>` string: the reservation, MessagePack of its deadline, its counter count and
 *   per counter its key, kind, amount (as the text it came in as), the budget period it was charged
 *   to and the remaining amount (the first result, returned again to a repeated reserve). Kept
 *   until `expiredReservationKeptMs` after the reservation expires, so that a late settle still
 *   corrects its budget and credit.
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
 * strings they came in as, formatted as integers (`%d`: a run's summed changes to a counter), or
 * packed with MessagePack (integers as 64-bit integers). Keys are built
 * inside the scripts from the prefix, so the store needs a single Redis (or Sentinel), not Redis
 * Cluster: one reservation spans counters of many hash slots anyway. Redis 6.2 or later (GETDEL).
 */

const library = `
local prefix = ARGV[1]

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

-- Drops a window's or concurrency counter's entries whose deadline has passed; returns the sum of
-- their amounts (the total is the caller's to lower). \`nowText\` is \`now\` as the text it came in
-- as (a Lua number passed to redis.call is formatted).
local function dropExpired(entries, nowText)
  local expired = redis.call('ZRANGEBYSCORE', entries, '-inf', nowText)
  if #expired == 0 then return 0 end
  local freed = 0
  for _, member in ipairs(expired) do freed = freed + entryAmount(member) end
  redis.call('ZREMRANGEBYSCORE', entries, '-inf', nowText)
  return freed
end

-- Expires a counter's entries and returns its live total, written at once (for a peek).
local function expireEntries(total, entries, nowText)
  local live = tonumber(redis.call('GET', total) or '0')
  local freed = dropExpired(entries, nowText)
  if freed == 0 then return live end
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

-- What this run read and changed, by counter key: the calls of one run share counters, and most
-- share their millisecond. \`totals\`: a window's or concurrency counter's live total as of
-- \`totalsAt\` (its entries expired up to then); \`budgets\`: a budget's used amount, period end and
-- liveness. Changes to running totals and budgets' used amounts add up in \`totalChanges\` and
-- \`budgetChanges\` and are written once per counter at the end of the run (\`writeChanges\`): what
-- Redis holds plus what is pending is the counter's amount, and nothing else writes while a script
-- runs.
local totals, totalsAt, budgets = {}, {}, {}
local totalChanges, budgetChanges = {}, {}

-- A counter's live total at \`now\`: read and expired once per counter and millisecond.
local function liveTotal(primary, secondary, now, nowText)
  if totalsAt[primary] ~= now then
    local live = totals[primary]
    if live == nil then live = tonumber(redis.call('GET', primary) or '0') + (totalChanges[primary] or 0) end
    local freed = dropExpired(secondary, nowText)
    if freed > 0 then
      live = live - freed
      totalChanges[primary] = (totalChanges[primary] or 0) - freed
    end
    totals[primary] = live
    totalsAt[primary] = now
  end
  return totals[primary]
end

-- Adds \`delta\` to a running total (written at the end of the run).
local function changeTotal(primary, delta)
  if totals[primary] ~= nil then totals[primary] = totals[primary] + delta end
  totalChanges[primary] = (totalChanges[primary] or 0) + delta
end

-- A budget as \`readBudget\` reads it, read once per run: its period end does not move.
local function budgetAt(budgetKey, now)
  local known = budgets[budgetKey]
  if not known then
    local used, ends, live = readBudget(budgetKey, now)
    known = { used = used + (budgetChanges[budgetKey] or 0), ends = ends, live = live }
    budgets[budgetKey] = known
  end
  if not known.live or (known.ends ~= '' and tonumber(known.ends) <= now) then return 0, '', false end
  return known.used, known.ends, true
end

-- Adds \`delta\` to a live budget's used amount (written at the end of the run).
local function changeBudget(budgetKey, delta)
  budgets[budgetKey].used = budgets[budgetKey].used + delta
  budgetChanges[budgetKey] = (budgetChanges[budgetKey] or 0) + delta
end
`;

/**
 * The reserves, settles, releases and renewals of one turn of the event loop, in one script call
 * (one command, one write, one script run for many requests): the settles and releases first (they
 * belong to requests that have ended), then the renewals, then the reserves, each in the order they
 * were made.
 *
 * ARGV: prefix, reservationTtlMs, windowMs, concurrentRetryHintMs, a JSON array of reserves, then
 * graceMs, windowMs + graceMs, reservationTtlMs + graceMs, a JSON array of settles and releases,
 * how long a reservation's record outlives its deadline (`expiredReservationKeptMs`), and a JSON
 * array of renewals.
 * Each reserve is
 * `[reservationId, now, now + windowMs, now + reservationTtlMs, [kind, key, limit, amount, expiresAt ('' = none)], …]`;
 * each settle or release `[reservationId, now, actuals, lost?]`: actuals `[key, amount, key, amount, …]`
 * to settle, or `false` to release, and for a settle what to charge should Redis have lost the
 * reservation (`settleLost`); each renewal `[reservationId, now + reservationTtlMs]`.
 * Reply: `{reserves, finishes, renewals}`. Per reserve `{1, remaining, remaining, …}` (in the order
 * of its counters), `{2, key, remaining, key, remaining, …}` for a repeated reserve (its first
 * result), or `{0, key, kind, limit, remaining, retryAfterMs}`; per settle or release 1 if it
 * settled or released something (an expired reservation's budget and credit included, or a lost
 * one's), 2 for a lost one while the counters are not loaded again yet, else 0; per
 * renewal 1 if the reservation was live and now ends at the new deadline, else 0.
 *
 * Times and amounts that go to Redis commands come as text: a Lua number passed to `redis.call` is
 * formatted with `%.17g`, which was a tenth of the script's work. A counter's two keys outlive
 * their last entry by at least half of `graceMs` (so a replica whose clock is a little behind
 * still finds them); their time to live is renewed once it has run down by half the grace, not on
 * every reserve (two `PEXPIRE`s per counter were an eighth of the script's work; a `PTTL` costs
 * about a third of one).
 */
export const batchScript = `${library}
local reservationTtlText = ARGV[2]
local reservationTtlMs = tonumber(reservationTtlText)
local windowMs = tonumber(ARGV[3])
local retryHintMs = tonumber(ARGV[4])
local graceMs = tonumber(ARGV[6])
local windowKeyTtlText, holdKeyTtlText = ARGV[7], ARGV[8]
local windowKeyTtl, holdKeyTtl = tonumber(windowKeyTtlText), tonumber(holdKeyTtlText)
local keptMs = tonumber(ARGV[10])
-- A reservation's record lives its time to live, then \`keptMs\` more as an expired reservation.
local recordTtlText = string.format('%d', reservationTtlMs + keptMs)

-- Counters an entry was added to in this run: their keys' time to live is looked at once, at the end.
local added = {}

-- Renews both keys' time to live (\`ttl\`, given as \`ttlText\`) once either has less than
-- \`ttl - graceMs / 2\` left, or none (a key just made by ZADD or INCRBY). Once per counter per run,
-- at its end, once its total is written (which may make the key): the run added an entry to the
-- set, so the set is there to renew.
local function keepAlive(primary, secondary, ttl, ttlText)
  local least = ttl - graceMs / 2
  if redis.call('PTTL', primary) < least or redis.call('PTTL', secondary) < least then
    redis.call('PEXPIRE', primary, ttlText)
    redis.call('PEXPIRE', secondary, ttlText)
  end
end

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
  local reservationId, nowText = call[1], call[2]
  local now = tonumber(nowText)
  local windowDeadlineText, holdDeadlineText = call[3], call[4]
  local count = #call - 4
  local reservationKey = prefix .. 'rs:' .. reservationId

  -- A live reservation with this id: give back its first result, reserve nothing more.
  local packed = redis.call('GET', reservationKey)
  if packed then
    local record = {cmsgpack.unpack(packed)}
    if record[1] > now then
      local reply = {2}
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
    local counter = call[i + 4]
    local kind, key, amountText, expiresAt = counter[1], counter[2], counter[4], counter[5]
    local limit, amount = tonumber(counter[3]), tonumber(amountText)
    local primary, secondary = counterKeys(kind, key)
    local plan = { kind = kind, key = key, amount = amount, amountText = amountText, primary = primary, secondary = secondary, ends = '', live = false }
    if kind == 'credit' then
      local balance = tonumber(redis.call('GET', primary) or '0')
      -- A limit of -1: a reservation made again after Redis lost it (its request was admitted already).
      if balance < amount and limit >= 0 then return {0, key, kind, balance, balance, 0} end
      plan.remaining = balance - amount
    else
      local used
      if kind == 'budget' then
        used, plan.ends, plan.live = budgetAt(primary, now)
        if not plan.live then plan.ends = expiresAt end
      else
        used = liveTotal(primary, secondary, now, nowText)
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
      local entryDeadlineText, keyTtl, keyTtlText = holdDeadlineText, holdKeyTtl, holdKeyTtlText
      if plan.kind == 'window' then entryDeadlineText, keyTtl, keyTtlText = windowDeadlineText, windowKeyTtl, windowKeyTtlText end
      -- 0 added: an entry of this reservation with this amount is still there (the id was reserved
      -- before and its record expired first); it is counted once.
      if redis.call('ZADD', plan.secondary, entryDeadlineText, plan.amountText .. ':' .. reservationId) == 1 then
        changeTotal(plan.primary, plan.amount)
      end
      added[plan.primary] = added[plan.primary] or { plan.secondary, keyTtl, keyTtlText }
    elseif plan.kind == 'budget' then
      if plan.live then
        changeBudget(plan.primary, plan.amount)
      else
        -- A new period: what this run changed of the old one goes with it.
        budgetChanges[plan.primary] = nil
        redis.call('DEL', plan.primary)
        redis.call('HSET', plan.primary, 'used', plan.amountText)
        if plan.ends ~= '' then
          redis.call('HSET', plan.primary, 'exp', plan.ends)
          redis.call('PEXPIRE', plan.primary, tonumber(plan.ends) - now + graceMs)
        end
        budgets[plan.primary] = { used = plan.amount, ends = plan.ends, live = true }
      end
    elseif plan.amount > 0 then
      redis.call('DECRBY', plan.primary, plan.amountText)
    end
    local n = #record
    record[n + 1], record[n + 2], record[n + 3], record[n + 4], record[n + 5] = plan.key, plan.kind, plan.amountText, plan.ends, plan.remaining
    reply[#reply + 1] = plan.remaining
  end
  redis.call('SET', reservationKey, cmsgpack.pack(unpack(record)), 'PX', recordTtlText)
  return reply
end

-- Moves a live reservation's deadline, and the deadline of its concurrency holds, to \`deadlineText\`
-- (its request is still in flight): 1, or 0 when the reservation is unknown, finished or expired.
local function renew(reservationId, deadlineText)
  local reservationKey = prefix .. 'rs:' .. reservationId
  local packed = redis.call('GET', reservationKey)
  if not packed then return 0 end
  local record = {cmsgpack.unpack(packed)}
  local deadline = tonumber(deadlineText)
  if record[1] <= deadline - reservationTtlMs then return 0 end
  record[1] = deadline
  for i = 1, record[2] do
    local at = 3 + (i - 1) * 5
    if record[at + 1] == 'concurrent' then
      local amountText = record[at + 2]
      local primary, secondary = counterKeys('concurrent', record[at])
      -- 1: a replica whose clock is ahead had expired the hold already; it counts again.
      if redis.call('ZADD', secondary, deadlineText, amountText .. ':' .. reservationId) == 1 then
        changeTotal(primary, tonumber(amountText))
      end
      added[primary] = added[primary] or { secondary, holdKeyTtl, holdKeyTtlText }
    end
  end
  redis.call('SET', reservationKey, cmsgpack.pack(unpack(record)), 'PX', recordTtlText)
  return 1
end

-- Charges a settled request whose reservation Redis lost with the rest of its data (restarted
-- empty, flushed) while the request ran: its budget and credit, what it used, as its settle would
-- have. \`lost\` is \`{reservedAt, kind, key, expiresAt, amount, …}\`. A reservation made before the
-- counters were last loaded again (the claim mark holds when) was lost; 0 for one made since (it
-- was settled already); 2 while the counters are not loaded yet (the balances the relays load
-- from the database will not count it: the request's ledger record waits for this settle).
local function settleLost(now, lost)
  local restoredAt = tonumber(redis.call('GET', prefix .. 'claimed') or '')
  if not restoredAt then return 2 end
  if restoredAt <= tonumber(lost[1]) then return 0 end
  for i = 2, #lost, 4 do
    local kind, key, ends, amountText = lost[i], lost[i + 1], lost[i + 2], lost[i + 3]
    local primary = counterKeys(kind, key)
    if kind == 'credit' then
      redis.call('DECRBY', primary, amountText)
    else
      local _, currentEnds, live = budgetAt(primary, now)
      if live then
        if currentEnds == ends then changeBudget(primary, tonumber(amountText)) end
      elseif ends == '' or tonumber(ends) > now then
        budgetChanges[primary] = nil
        redis.call('DEL', primary)
        redis.call('HSET', primary, 'used', amountText)
        if ends ~= '' then
          redis.call('HSET', primary, 'exp', ends)
          redis.call('PEXPIRE', primary, tonumber(ends) - now + graceMs)
        end
        budgets[primary] = { used = tonumber(amountText), ends = ends, live = true }
      end
    end
  end
  return 1
end

local function finish(reservationId, now, actuals, lost)
  local reservationKey = prefix .. 'rs:' .. reservationId
  local packed = redis.call('GETDEL', reservationKey)
  if not packed then
    if actuals and lost then return settleLost(now, lost) end
    return 0
  end
  local record = {cmsgpack.unpack(packed)}
  -- Expired (its holds have expired too, and the changes below find nothing left of them), but its
  -- budget and credit are still charged at the reserved amount: corrected as if it were live.
  if record[1] + keptMs <= now then return 0 end
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
        if redis.call('ZREM', secondary, member) == 1 then changeTotal(primary, -amount) end
      elseif used ~= amount then
        -- The entry keeps its deadline and takes the actual amount: added before the old one goes,
        -- so the set is never empty in between (an emptied set is deleted with its time to live).
        local score = redis.call('ZSCORE', secondary, member)
        if score then
          redis.call('ZADD', secondary, score, usedText .. ':' .. reservationId)
          redis.call('ZREM', secondary, member)
          changeTotal(primary, used - amount)
        end
      end
    elseif kind == 'concurrent' then
      if redis.call('ZREM', secondary, amountText .. ':' .. reservationId) == 1 then changeTotal(primary, -amount) end
    elseif kind == 'budget' then
      -- A reservation made in an earlier period leaves the new period's counter alone.
      local _, currentEnds, live = budgetAt(primary, now)
      if live and currentEnds == ends and used ~= amount then changeBudget(primary, used - amount) end
    elseif used ~= amount then
      redis.call('INCRBY', primary, amount - used)
    end
  end
  return 1
end

local finished, renewed, reserved = {}, {}, {}
-- A command that fails (a key of the wrong type, say) stops the run, and Redis keeps what the run
-- wrote before it: the run's changes to totals and budgets are written all the same, so that every
-- entry, record and total it left agrees, and the failure is raised after them.
local ran, failure = pcall(function()
  for i, call in ipairs(cjson.decode(ARGV[9])) do
    local actuals = false
    if call[3] then
      actuals = {}
      for j = 1, #call[3], 2 do actuals[call[3][j]] = call[3][j + 1] end
    end
    finished[i] = finish(call[1], tonumber(call[2]), actuals, call[4])
  end
  if ARGV[11] ~= '[]' then
    for i, call in ipairs(cjson.decode(ARGV[11])) do renewed[i] = renew(call[1], call[2]) end
  end
  for i, call in ipairs(cjson.decode(ARGV[5])) do reserved[i] = reserve(call) end
end)

-- The run's changes, one command per counter (as integers: %d, not Lua's 14-digit formatting).
for primary, delta in pairs(totalChanges) do
  if delta ~= 0 then redis.call('INCRBY', primary, string.format('%d', delta)) end
end
for budgetKey, delta in pairs(budgetChanges) do
  if delta ~= 0 then redis.call('HINCRBY', budgetKey, 'used', string.format('%d', delta)) end
end
for primary, keys in pairs(added) do keepAlive(primary, keys[1], keys[2], keys[3]) end
if not ran then error(failure) end
return {reserved, finished, renewed}
`;

/** ARGV: prefix, now, kind, key. Reply: usage, or the balance of a credit. */
export const peekScript = `${library}
local nowText, kind, key = ARGV[2], ARGV[3], ARGV[4]
local now = tonumber(nowText)
local primary, secondary = counterKeys(kind, key)
if kind == 'credit' then return tonumber(redis.call('GET', primary) or '0') end
if kind == 'budget' then
  local used = readBudget(primary, now)
  return used
end
return expireEntries(primary, secondary, nowText)
`;

/**
 * KEYS: the credit, the change's id marker, the counters' claim mark. ARGV: delta, the marker's time
 * to live (ms). Adds the delta unless the marker exists (the change was counted already); replies
 * the balance. Without the claim mark Redis has lost its counters (see `claimCounters`): nothing is
 * counted and the reply is nil.
 */
export const addCreditScript = `
if redis.call('EXISTS', KEYS[3]) == 0 then return false end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[2]) then
  return redis.call('INCRBY', KEYS[1], ARGV[1])
end
return tonumber(redis.call('GET', KEYS[1]) or '0')
`;
