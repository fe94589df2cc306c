/**
 * @ippc/testbed: A local multi-node ippc cluster on testcontainers: startCluster() returns a started, async-disposable cluster that leaves nothing behind.
 *
 * Implementation lands with issue #8.
 */
export {};
