import { FrameworkInfo_Capability_Type, type FrameworkInfo } from '@ippc/proto';

// What master and agent ask of a FrameworkInfo.

/** Whether the framework declared capability `c`. */
export function hasCapability(info: FrameworkInfo | undefined, c: FrameworkInfo_Capability_Type): boolean {
  return (info?.capabilities ?? []).some((x) => x.type === c);
}

/** PARTITION_AWARE frameworks hear TASK_UNREACHABLE, TASK_DROPPED, TASK_UNKNOWN where others hear TASK_LOST. */
export function isPartitionAware(info: FrameworkInfo | undefined): boolean {
  return hasCapability(info, FrameworkInfo_Capability_Type.PARTITION_AWARE);
}

/** The role the framework's resources are allocated to: its first role, else `role`, else `*`. */
export function frameworkRole(info: FrameworkInfo): string {
  return info.roles?.[0] ?? info.role ?? '*';
}
