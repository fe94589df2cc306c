import type { CniResponse } from './request.js';

/**
 * The CNI spec's well-known error codes (SPEC §"Error"; 8 and 999 as libcni's `pkg/types` defines
 * them). 0-99 are reserved for the spec; a plugin's own codes are 100 and up
 * ({@link defineCniErrorCodes}).
 */
export const CNI_SPEC_ERROR_CODES = {
  /** The config's `cniVersion` is not one the plugin speaks. */
  INCOMPATIBLE_VERSION: 1,
  /** A field of the config is not supported (the message names the key and value). */
  UNSUPPORTED_FIELD: 2,
  /** The container is unknown or gone (the runtime need not call DEL). */
  UNKNOWN_CONTAINER: 3,
  /** A `CNI_*` variable is missing or invalid. */
  INVALID_ENV: 4,
  /** An I/O failure. */
  IO: 5,
  /** The config (or another input) cannot be decoded. */
  DECODE: 6,
  /** The network config is invalid. */
  INVALID_CONFIG: 7,
  /** The network namespace is invalid. */
  INVALID_NETNS: 8,
  /** A transient condition: the runtime should try again later. */
  TRY_AGAIN_LATER: 11,
  /** STATUS: the plugin is not available (an ADD would fail). */
  STATUS_NOT_AVAILABLE: 50,
  /** STATUS: the plugin is available with limited connectivity. */
  LIMITED_CONNECTIVITY: 51,
  /** Anything else: an internal error. */
  INTERNAL: 999,
} as const;

/**
 * A plugin's error codes: the spec's plus its own, which take the numbers from 100 up (not 999).
 * Throws a RangeError for an own code outside that range or used twice.
 *
 * @example
 * ```ts
 * const CODES = defineCniErrorCodes({ POOL_EXHAUSTED: 100 });
 * throw new CniError(CODES.POOL_EXHAUSTED, 'pool blue has no free address');
 * ```
 */
export function defineCniErrorCodes<T extends Record<string, number>>(own: T): typeof CNI_SPEC_ERROR_CODES & T {
  const used = new Set<number>();
  for (const [name, code] of Object.entries(own)) {
    if (!Number.isInteger(code) || code < 100 || code === CNI_SPEC_ERROR_CODES.INTERNAL || used.has(code) || name in CNI_SPEC_ERROR_CODES) {
      throw new RangeError(
        `CNI error code ${name}=${code}: a plugin's own codes are distinct whole numbers from 100 up (not 999), under names the spec does not use`,
      );
    }
    used.add(code);
  }
  return { ...CNI_SPEC_ERROR_CODES, ...own };
}

/**
 * A CNI error as a plugin prints it, `{cniVersion, code, msg, details}`: a code of the spec or the
 * plugin's own, a message that says what to do, and details (left out of the JSON when undefined).
 */
export class CniError extends Error {
  constructor(
    readonly code: number,
    msg: string,
    readonly details?: string,
  ) {
    super(msg);
    this.name = 'CniError';
  }

  /** The spec's name of the message. */
  get msg(): string {
    return this.message;
  }

  /** The error JSON for a call whose config says `cniVersion`. */
  toJson(cniVersion: string): string {
    return JSON.stringify({ cniVersion, code: this.code, msg: this.message, ...(this.details !== undefined ? { details: this.details } : {}) });
  }

  /** The daemon's answer: 400 with the error JSON. */
  toResponse(cniVersion: string): CniResponse {
    return { status: 400, body: this.toJson(cniVersion) };
  }
}
