/**
 * @ippc/mesos: Mesos's model, written once for every ippc component that speaks it — the master
 * and the agent that decide, the plugins that read a task's NetworkInfo, and the tools that read
 * the state endpoints. Each piece cites the Mesos source it follows.
 *
 * @example
 * ```ts
 * import { createTaskStatus, parseResources, scalarOf, taskJson } from '@ippc/mesos';
 * import { TaskState, TaskStatus_Source } from '@ippc/proto';
 * const offered = parseResources('cpus:2;mem:1024;ports:[31000-31099]');
 * scalarOf(offered, 'cpus'); // 2
 * const status = createTaskStatus({ taskId: 'web-1', state: TaskState.TASK_RUNNING, source: TaskStatus_Source.SOURCE_AGENT, uuid: true });
 * ```
 */

// Resources (src/common/resources.cpp, values.cpp): arithmetic, text, validation.
export {
  addResources,
  allocateResources,
  containsResources,
  normalizeResources,
  pickResources,
  rangesOf,
  rangesResource,
  resourcesJson,
  scalarOf,
  scalarResource,
  subtractResources,
  unallocateResources,
  type ResourceRequest,
} from './resources/arithmetic.js';
export {
  addRanges,
  coalesceRanges,
  formatRanges,
  parseRanges,
  rangesContain,
  rangesOfValues,
  rangesSize,
  subtractRanges,
  takeFromRanges,
  type Range,
} from './resources/ranges.js';
export { formatResources, parseResources } from './resources/text.js';
export { validateResource, validateResources } from './resources/validation.js';

// Tasks and their statuses (src/common/protobuf_utils.cpp).
export { isTerminalState, recordStatus, taskFromTaskInfo, TERMINAL_STATES, type TaskRecordContext } from './task.js';
export { createTaskStatus, type TaskStatusSpec } from './task-status.js';
export { frameworkRole, hasCapability, isPartitionAware } from './framework.js';

// The JSON model of the state endpoints (src/common/http.cpp) and stout's JSON::Protobuf.
export { protobufJson, type Json, type JsonObject } from './json/protobuf-json.js';
export {
  agentInfoJson,
  attributesJson,
  commandInfoJson,
  containerStatusJson,
  executorInfoJson,
  frameworkCapabilitiesJson,
  labelsJson,
  networkInfoJson,
  offerJson,
  resourcesFullJson,
  taskInfoJson,
  taskJson,
  taskStatusJson,
  type ContainerStatusJson,
  type IpAddressJson,
  type LabelJson,
  type NetworkInfoJson,
  type PortMappingJson,
  type TaskInfoJson,
  type TaskJson,
  type TaskStatusJson,
} from './json/state-writers.js';
export type { AgentJson, AgentStateJson, ExecutorJson, FrameworkJson, MasterStateJson } from './json/documents.js';

// The NetworkInfo in a CNI config's args (src/slave/containerizer/mesos/isolators/network/cni/cni.cpp).
export {
  containerIdFromString,
  containerIdToString,
  MESOS_CNI_ARGS_KEY,
  networkInfoFromMesosJson,
  networkInfoOfCniArgs,
  networkInfoToMesosJson,
} from './cni-args.js';

// The v1 HTTP APIs' wire forms: RecordIO framing (src/common/recordio.hpp) and messages as JSON.
export { encodeRecord, RECORDIO_MAX_RECORD_BYTES, RecordIoDecoder } from './recordio.js';
export { fromV1Json, toV1Json, type JsonCodec } from './json/v1-json.js';
export { basicPrincipal, parseCredentials, type Credential } from './credentials.js';

// The front matter of every v1 HTTP API (master and agent): authentication, media types, the call.
export { authenticate, guarded, type HttpAccess } from './http/auth.js';
export {
  acceptsMediaType,
  APPLICATION_JSON,
  APPLICATION_PROTOBUF,
  encodeMessage,
  HttpAnswer,
  mediaTypeOf,
  negotiate,
  readBody,
  sendText,
  type ContentType,
  type MessageCodec,
} from './http/media.js';
export { readCall, type CallCodec, type ReadCallOptions } from './http/v1-call.js';

export { formatDuration, parseDuration } from './duration.js';
export { MesosError, type MesosErrorCode } from './errors.js';
