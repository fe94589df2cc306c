/**
 * @ippc/scheduler: The scheduler library a framework imports: subscribe, offers, launch tasks with NetworkInfo, status updates, acknowledge, reconcile, kill.
 *
 * Implementation lands with issue #4.
 */
export {};
