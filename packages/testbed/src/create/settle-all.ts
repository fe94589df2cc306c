/** Awaits all, then throws the first failure (so none is left running unobserved). */
export async function settleAll<T>(promises: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return (results as PromiseFulfilledResult<T>[]).map((r) => r.value);
}
