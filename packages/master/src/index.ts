/**
 * @ippc/master: The ippc master: framework API, agent registry, offers, Mesos validation, task state, and GET /master/state in the Mesos JSON model.
 *
 * Implementation lands with issue #4.
 */
export {};
