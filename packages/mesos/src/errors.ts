import { status } from '@grpc/grpc-js';
import { IppcError, type GrpcCode, type IppcErrorOptions } from '@ippc/core';

/** The closed set of error codes of @ippc/mesos. */
export type MesosErrorCode =
  /** Resource text or JSON that does not parse (`--resources`, a task spec). */
  | 'RESOURCES_INVALID'
  /** A duration that is not a number and one of Mesos's units (`15secs`, `100ms`). */
  | 'DURATION_INVALID'
  /** `args["org.apache.mesos"].network_info` of a CNI config that is not a NetworkInfo. */
  | 'NETWORK_INFO_INVALID'
  /** A RecordIO stream whose framing is broken (a length that is not a number, or too large). */
  | 'RECORDIO_INVALID'
  /** A JSON body that does not convert into the protobuf message Mesos expects. */
  | 'JSON_INVALID'
  /** A credentials file (`--credentials`) that is neither Mesos's JSON nor 'principal secret' lines. */
  | 'CREDENTIALS_INVALID';

const GRPC: Record<MesosErrorCode, GrpcCode> = {
  RESOURCES_INVALID: status.INVALID_ARGUMENT,
  DURATION_INVALID: status.INVALID_ARGUMENT,
  NETWORK_INFO_INVALID: status.INVALID_ARGUMENT,
  RECORDIO_INVALID: status.INVALID_ARGUMENT,
  JSON_INVALID: status.INVALID_ARGUMENT,
  CREDENTIALS_INVALID: status.INVALID_ARGUMENT,
};

/** Input that does not fit Mesos's model; the message says what is wrong and what is expected. */
export class MesosError extends IppcError<MesosErrorCode> {
  constructor(code: MesosErrorCode, message: string, options: IppcErrorOptions = {}) {
    super(code, GRPC[code], message, options);
    this.name = 'MesosError';
  }
}
