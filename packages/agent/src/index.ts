/**
 * @ippc/agent: The ippc agent: registers with the master, runs tasks through containerizers, sends status updates with container_status, checkpoints and recovers, GET /state.
 *
 * Implementation lands with issue #4.
 */
export {};
