/**
 * @ippc/network-isolator: The agent-side network/cni isolator module: CNI configs by canonical name, eth0..ethN, real CNI plugins per the CNI spec, checkpoints, recovery, status into ContainerStatus.network_infos.
 *
 * Implementation lands with issue #5.
 */
export {};
