/**
 * The process exit codes callsync documents (README, "Exit codes").
 *
 * @module
 */

/**
 * Exit codes: `ok` nothing due failed, `failed` some sets failed (retried
 * later), `usage` a usage or configuration error, `fatal` credentials
 * refused or the state folder not writable.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, fatal: 3 } as const;
