// Loaded with `node --import` into a relay process that must run as if its machine's clock read
// TEST_CLOCK_STARTS_AT (epoch ms) when it started: Date runs on from there at the normal pace. Tests
// use it for what happens at a day's or a month's end, which no test can wait for.
const startsAt = Number(process.env.TEST_CLOCK_STARTS_AT);
if (!Number.isSafeInteger(startsAt)) throw new Error('TEST_CLOCK_STARTS_AT must be epoch milliseconds');
const SystemDate = Date;
const offset = startsAt - SystemDate.now();
const now = () => SystemDate.now() + offset;

class ShiftedDate extends SystemDate {
  constructor(...values) {
    if (values.length === 0) super(now());
    else super(...values);
  }

  static now() {
    return now();
  }
}

globalThis.Date = ShiftedDate;
