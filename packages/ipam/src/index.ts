/**
 * @ippc/ipam: The IPAM service: assigns addresses on demand, recycles, persists, never duplicates; with the ippc-ipam CNI IPAM plugin.
 *
 * Implementation lands with issue #3.
 */
export {};
