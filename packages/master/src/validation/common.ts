import {
  CheckInfo_Type,
  ContainerInfo_Type,
  Environment_Variable_Type,
  HealthCheck_Type,
  Secret_Type,
  Value_Type,
  checkInfo_TypeToJSON,
  healthCheck_TypeToJSON,
  type CheckInfo,
  type CommandInfo,
  type ContainerInfo,
  type Environment,
  type HealthCheck,
  type Resource,
  type Secret,
} from '@ippc/proto';
import { addResources, normalizeResources, validateResources } from '@ippc/mesos';

// Mesos's common validation (src/common/validation.cpp) and resource validation
// (src/master/validation.cpp `resource::`), rule for rule and message for message.

/** `validateSecret`. */
function validateSecret(secret: Secret): string | undefined {
  switch (secret.type) {
    case Secret_Type.REFERENCE:
      if (!secret.reference) return "Secret of type REFERENCE must have the 'reference' field set";
      if (secret.value) return `Secret '${secret.reference.name ?? ''}' of type REFERENCE must not have the 'value' field set`;
      break;
    case Secret_Type.VALUE:
      if (!secret.value) return "Secret of type VALUE must have the 'value' field set";
      if (secret.reference) return "Secret of type VALUE must not have the 'reference' field set";
      break;
  }
  return undefined;
}

/** `validateEnvironment`. */
export function validateEnvironment(env: Environment | undefined): string | undefined {
  for (const v of env?.variables ?? []) {
    const name = v.name ?? '';
    switch (v.type ?? Environment_Variable_Type.VALUE) {
      case Environment_Variable_Type.SECRET: {
        if (!v.secret) return `Environment variable '${name}' of type 'SECRET' must have a secret set`;
        if (v.value !== undefined) return `Environment variable '${name}' of type 'SECRET' must not have a value set`;
        const err = validateSecret(v.secret);
        if (err) return `Environment variable '${name}' specifies an invalid secret: ${err}`;
        if ((v.secret.value?.data ?? Buffer.alloc(0)).includes(0)) {
          return `Environment variable '${name}' specifies a secret containing null bytes, which is not allowed in the environment`;
        }
        break;
      }
      case Environment_Variable_Type.VALUE:
        if (v.value === undefined) return `Environment variable '${name}' of type 'VALUE' must have a value set`;
        if (v.secret) return `Environment variable '${name}' of type 'VALUE' must not have a secret set`;
        break;
      case Environment_Variable_Type.UNKNOWN:
        return "Environment variable of type 'UNKNOWN' is not allowed";
    }
  }
  return undefined;
}

/** `validateCommandInfo`. */
export function validateCommandInfo(command: CommandInfo): string | undefined {
  return validateEnvironment(command.environment);
}

/**
 * `validateContainerInfo`. A union mismatch (e.g. `type: MESOS` with `docker` set) is only logged
 * by Mesos, so `onWarning` receives it and validation passes.
 */
export function validateContainerInfo(container: ContainerInfo, onWarning?: (message: string) => void): string | undefined {
  if (container.type === ContainerInfo_Type.MESOS && container.docker)
    onWarning?.('Protobuf union `mesos.v1.ContainerInfo` with `Type == MESOS` should not have the field `docker` set.');
  if (container.type === ContainerInfo_Type.DOCKER && container.mesos)
    onWarning?.('Protobuf union `mesos.v1.ContainerInfo` with `Type == DOCKER` should not have the field `mesos` set.');
  if (container.type === ContainerInfo_Type.DOCKER) {
    if (!container.docker) return "DockerInfo 'docker' is not set for DOCKER typed ContainerInfo";
    for (const p of container.docker.parameters ?? []) if (p.key === 'name') return "Parameter in DockerInfo must not be 'name'";
  }
  return undefined;
}

/** `validateHealthCheck`. */
export function validateHealthCheck(check: HealthCheck): string | undefined {
  if (check.type === undefined) return "HealthCheck must specify 'type'";
  switch (check.type) {
    case HealthCheck_Type.COMMAND: {
      if (!check.command) return "Expecting 'command' to be set for COMMAND health check";
      if (check.command.value === undefined)
        return `Command health check must contain ${(check.command.shell ?? true) ? "'shell command'" : "'executable path'"}`;
      const err = validateCommandInfo(check.command);
      if (err) return `Health check's \`CommandInfo\` is invalid: ${err}`;
      break;
    }
    case HealthCheck_Type.HTTP: {
      if (!check.http) return "Expecting 'http' to be set for HTTP health check";
      const scheme = check.http.scheme;
      if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') return `Unsupported HTTP health check scheme: '${scheme}'`;
      if (check.http.path !== undefined && !check.http.path.startsWith('/')) return `The path '${check.http.path}' of HTTP health check must start with '/'`;
      break;
    }
    case HealthCheck_Type.TCP:
      if (!check.tcp) return "Expecting 'tcp' to be set for TCP health check";
      break;
    default:
      return `'${healthCheck_TypeToJSON(check.type)}' is not a valid health check type`;
  }
  if (check.delaySeconds !== undefined && check.delaySeconds < 0) return "Expecting 'delay_seconds' to be non-negative";
  if (check.gracePeriodSeconds !== undefined && check.gracePeriodSeconds < 0) return "Expecting 'grace_period_seconds' to be non-negative";
  if (check.intervalSeconds !== undefined && check.intervalSeconds < 0) return "Expecting 'interval_seconds' to be non-negative";
  if (check.timeoutSeconds !== undefined && check.timeoutSeconds < 0) return "Expecting 'timeout_seconds' to be non-negative";
  return undefined;
}

/** `validateCheckInfo`. */
export function validateCheckInfo(check: CheckInfo): string | undefined {
  if (check.type === undefined) return "CheckInfo must specify 'type'";
  switch (check.type) {
    case CheckInfo_Type.COMMAND: {
      if (!check.command) return "Expecting 'command' to be set for COMMAND check";
      const command = check.command.command ?? {};
      if ((command as CommandInfo).value === undefined)
        return `Command check must contain ${((command as CommandInfo).shell ?? true) ? "'shell command'" : "'executable path'"}`;
      const err = validateCommandInfo(command as CommandInfo);
      if (err) return `Check's \`CommandInfo\` is invalid: ${err}`;
      break;
    }
    case CheckInfo_Type.HTTP:
      if (!check.http) return "Expecting 'http' to be set for HTTP check";
      if (check.http.path !== undefined && !check.http.path.startsWith('/')) return `The path '${check.http.path}' of HTTP check must start with '/'`;
      break;
    case CheckInfo_Type.TCP:
      if (!check.tcp) return "Expecting 'tcp' to be set for TCP check";
      break;
    default:
      return `'${checkInfo_TypeToJSON(check.type)}' is not a valid check type`;
  }
  if (check.delaySeconds !== undefined && check.delaySeconds < 0) return "Expecting 'delay_seconds' to be non-negative";
  if (check.intervalSeconds !== undefined && check.intervalSeconds < 0) return "Expecting 'interval_seconds' to be non-negative";
  if (check.timeoutSeconds !== undefined && check.timeoutSeconds < 0) return "Expecting 'timeout_seconds' to be non-negative";
  return undefined;
}

/** `validateGpus`: gpus must be whole. */
function validateGpus(resources: readonly Resource[]): string | undefined {
  const gpus = resources
    .filter((r) => r.name === 'gpus' && (r.type ?? Value_Type.SCALAR) === Value_Type.SCALAR)
    .reduce((s, r) => s + (r.scalar?.value ?? 0), 0);
  if (Math.trunc(gpus * 1000) % 1000 !== 0) return "The 'gpus' resource must be an unsigned integer";
  return undefined;
}

/** `resource::validate`. */
export function validateResourceList(resources: readonly Resource[]): string | undefined {
  const err = validateResources(resources);
  if (err) return `Invalid resources: ${err}`;
  const gpus = validateGpus(resources);
  if (gpus) return `Invalid 'gpus' resource: ${gpus}`;
  return undefined;
}

/** `resource::validateAllocatedToSingleRole`. */
export function validateAllocatedToSingleRole(resources: readonly Resource[]): string | undefined {
  let role: string | undefined;
  for (const r of resources) {
    const own = r.allocationInfo?.role;
    if (own === undefined) return 'The resources are not allocated to a role';
    if (role === undefined) role = own;
    else if (own !== role) return `The resources have multiple allocation roles ('${own}' and '${role}') but only one allocation role is allowed`;
  }
  return undefined;
}

/** `resource::detectOverlappingSetAndRangeResources`. */
export function overlaps(a: readonly Resource[], b: readonly Resource[]): boolean {
  const sum = addResources(a, b);
  const count = (rs: readonly Resource[]) =>
    normalizeResources(rs)
      .filter((r) => r.type === Value_Type.RANGES || r.type === Value_Type.SET)
      .reduce(
        (n, r) =>
          n + (r.type === Value_Type.SET ? (r.set?.item ?? []).length : (r.ranges?.range ?? []).reduce((m, x) => m + (Number(x.end) - Number(x.begin) + 1), 0)),
        0,
      );
  return count(a) + count(b) !== count(sum);
}
