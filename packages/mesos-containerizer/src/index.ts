/**
 * @ippc/mesos-containerizer: The Mesos containerizer: a task is a process in its own network, UTS and mount namespaces on the agent; its network comes from the network isolator module.
 *
 * Implementation lands with issue #5.
 */
export {};
