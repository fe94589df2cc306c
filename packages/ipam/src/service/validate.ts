import { bad } from '../errors.js';
import { isValidIfName, isValidName } from '../pool.js';
import type { Handle } from '../types.js';

export function validateHandle(h: Handle | undefined): Handle {
  if (!h || typeof h !== 'object') throw bad('a handle is required: {network, containerId, ifName}');
  if (!isValidName(h.network)) throw bad(`network name '${h.network ?? ''}' is invalid: use letters, digits, '_', '.', '-' (CNI's rule)`);
  if (!isValidName(h.containerId))
    throw bad(`container id '${h.containerId ?? ''}' is invalid: it must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$ (CNI_CONTAINERID's rule)`);
  if (!isValidIfName(h.ifName)) throw bad(`interface name '${h.ifName ?? ''}' is invalid: 1 to 15 characters, no '/', ':' or spaces`);
  return { network: h.network, containerId: h.containerId, ifName: h.ifName };
}
