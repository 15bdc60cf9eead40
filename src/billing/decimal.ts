/**
 * Turns a JavaScript number into an exact integer count of `10^-digits` units, rounding half away
 * from zero. It works on the number's shortest decimal spelling (`String(0.15)` is `"0.15"`), which
 * is what a person wrote in a config file, instead of on its binary value (`0.15 * 1e6` is
 * `150000.00000000003`), so prices and amounts never pick up floating-point dust.
 *
 * @example toScaledInteger(0.15, 6) === 150000n; toScaledInteger(1.2345675, 6) === 1234568n
 */
export function toScaledInteger(value: number, digits: number): bigint {
  if (!Number.isFinite(value)) throw new RangeError(`Expected a finite number, got ${value}`);
  if (!Number.isInteger(digits) || digits < 0) throw new RangeError(`digits must be a non-negative integer, got ${digits}`);
  const negative = value < 0;
  // toString() of a finite number is either plain (`0.15`) or exponential (`1.5e-7`, `1e+21`).
  const match = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(Math.abs(value).toString());
  if (match === null) throw new RangeError(`Cannot read ${value} as a decimal number`);
  const whole = match[1] ?? '0';
  const fraction = match[2] ?? '';
  const exponent = Number(match[3] ?? '0');
  const mantissa = BigInt(whole + fraction);
  const shift = exponent - fraction.length + digits;
  let scaled: bigint;
  if (shift >= 0) {
    scaled = mantissa * 10n ** BigInt(shift);
  } else {
    const divisor = 10n ** BigInt(-shift);
    const quotient = mantissa / divisor;
    scaled = (mantissa % divisor) * 2n >= divisor ? quotient + 1n : quotient;
  }
  return negative ? -scaled : scaled;
}

/** `numerator / denominator` rounded towards +∞ (denominator > 0). */
export function divideRoundingUp(numerator: bigint, denominator: bigint): bigint {
  const quotient = numerator / denominator;
  return numerator % denominator > 0n ? quotient + 1n : quotient;
}

/** `numerator / denominator` rounded to the nearest integer, halves towards +∞ (denominator > 0). */
export function divideRoundingHalfUp(numerator: bigint, denominator: bigint): bigint {
  const doubled = numerator * 2n + denominator;
  const twice = denominator * 2n;
  // BigInt division truncates towards zero; the floor of a negative quotient is one lower.
  const quotient = doubled / twice;
  return doubled % twice < 0n ? quotient - 1n : quotient;
}

/** A BigInt back to a number, refusing values that a number cannot hold exactly. */
export function toSafeNumber(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`${what} (${value}) is beyond Number.MAX_SAFE_INTEGER`);
  }
  return Number(value);
}
