import { CniError, defineCniErrorCodes } from '@ippc/core';
import { IpamError, type IpamErrorCode } from '../errors.js';
import type { CniResponse } from './cni-handler.js';

/**
 * CNI error codes of `ippc-ipam`. 1-11 are the spec's; 100 and up are ours, one per IPAM
 * condition, so a runtime can react without parsing messages.
 */
export const CNI_ERROR_CODES = defineCniErrorCodes({
  POOL_EXHAUSTED: 100,
  ADDRESS_TAKEN: 101,
  ADDRESS_OUTSIDE_POOL: 102,
  UNKNOWN_NETWORK: 103,
  BAD_REQUEST: 104,
  CHECK_FAILED: 105,
  POOL_CONFLICT: 106,
});

const FROM_IPAM: Record<IpamErrorCode, number> = {
  IPAM_POOL_EXHAUSTED: CNI_ERROR_CODES.POOL_EXHAUSTED,
  IPAM_ADDRESS_TAKEN: CNI_ERROR_CODES.ADDRESS_TAKEN,
  IPAM_ADDRESS_OUTSIDE_POOL: CNI_ERROR_CODES.ADDRESS_OUTSIDE_POOL,
  IPAM_UNKNOWN_NETWORK: CNI_ERROR_CODES.UNKNOWN_NETWORK,
  IPAM_BAD_REQUEST: CNI_ERROR_CODES.BAD_REQUEST,
  IPAM_POOL_CONFLICT: CNI_ERROR_CODES.POOL_CONFLICT,
  IPAM_LEASE_NOT_FOUND: CNI_ERROR_CODES.CHECK_FAILED,
  IPAM_CONFLICT: CNI_ERROR_CODES.TRY_AGAIN_LATER,
  IPAM_UNAVAILABLE: CNI_ERROR_CODES.TRY_AGAIN_LATER,
};

/** The plugin's error output for any failure: a CniError as thrown, an IpamError by its code, anything else 999. `details` is always printed. */
export function errorOutput(cniVersion: string, err: unknown): CniResponse {
  let code: number;
  let msg: string;
  let details: string;
  if (err instanceof CniError) {
    code = err.code;
    msg = err.message;
    details = err.details ?? '';
  } else if (err instanceof IpamError) {
    code = FROM_IPAM[err.code];
    msg = err.message;
    details = err.code;
  } else {
    code = CNI_ERROR_CODES.INTERNAL;
    msg = `ippc-ipam internal error: ${(err as Error)?.message ?? String(err)}`;
    details = '';
  }
  return { ok: false, output: new CniError(code, msg, details).toJson(cniVersion) };
}
