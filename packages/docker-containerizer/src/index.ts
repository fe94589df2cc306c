/**
 * @ippc/docker-containerizer: The Docker containerizer: tasks as Docker containers through the Engine API, network modes HOST, BRIDGE, NONE and USER with Mesos's rules and messages.
 *
 * Implementation lands with issue #6.
 */
export {};
