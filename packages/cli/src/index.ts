/**
 * @ippc/cli: The ippc command line: cluster up/down/status/logs, task run/list/kill, net check, doctor.
 *
 * Implementation lands with issue #8.
 */
export {};
