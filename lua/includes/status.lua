-- status: return codes shared by every script. src/redis/status.ts mirrors this table and
-- test/unit/scripts.test.ts checks the two agree.
local STATUS = {
  OK = 1,
  DUPLICATE = 2,
  PAUSED = 3,
  EMPTY = 4,
  NOT_DUE = 5,
  NEEDS_INIT = -1,
  JOB_MISSING = -2,
  LEASE_LOST = -3,
  JOB_ACTIVE = -4,
  WRONG_STATE = -5,
  LEVELS_MISMATCH = -6,
  STALE = -7,
  FORMAT_MISMATCH = -8,
  CORRUPT = -9,
  BATCH_MISSING = -20,
  BATCH_SEALED = -21,
  BATCH_EXISTS = -22,
}
