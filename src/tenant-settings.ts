/** Tenant setting values (folio-contract §6.9): integers, or strings of an optional sign and ASCII digits. */

const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

/** The integer a setting value stands for, or undefined when it is not acceptable. */
export function parseIntSetting(value: unknown): number | undefined {
  let n: number;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return undefined;
    n = value;
  } else if (typeof value === 'string') {
    if (!/^[+-]?[0-9]+$/.test(value)) return undefined;
    n = Number.parseInt(value, 10);
  } else {
    return undefined;
  }
  return n >= INT32_MIN && n <= INT32_MAX ? n : undefined;
}
