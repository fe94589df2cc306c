/**
 * @ippc/dns: Mesos-DNS-style service discovery from the master's state: A, AAAA and SRV records for tasks and agents.
 *
 * Implementation lands with issue #9.
 */
export {};
