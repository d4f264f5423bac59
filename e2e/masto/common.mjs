// What the masto.js scripts share: a mismatch (what the Go test reports),
// the environment the test sets, checks, and an expected HTTP error.
import { MastoHttpError } from "masto";

export class Mismatch extends Error {}

export function need(name) {
  const v = process.env[name];
  if (!v) throw new Mismatch(`environment variable ${name} is not set`);
  return v;
}

export function check(cond, what, got) {
  if (!cond) {
    throw new Mismatch(`${what}${got === undefined ? "" : `; got ${JSON.stringify(got)}`}`);
  }
}

// expectHttpError runs fn and requires masto.js to throw a MastoHttpError
// with status code; it returns the error.
export async function expectHttpError(what, code, fn) {
  try {
    const got = await fn();
    throw new Mismatch(`${what}: succeeded, want HTTP ${code}; got ${JSON.stringify(got)}`);
  } catch (err) {
    if (err instanceof Mismatch) throw err;
    if (!(err instanceof MastoHttpError)) {
      throw new Mismatch(`${what}: want a MastoHttpError ${code}, got ${err?.name}: ${err?.message}`);
    }
    check(err.statusCode === code, `${what}: status code is ${err.statusCode}, want ${code}`);
    return err;
  }
}
