/**
 * @ippc/isolation: The isolation provider: groups, reachability policy, routes between agents, enforcement on every agent, and the reachability check.
 *
 * Implementation lands with issue #7.
 */
export {};
