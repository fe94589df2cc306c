import { IsolationError } from '../../errors.js';
import { normalizeRule, ruleContentId, type Rule, type RuleInput } from '../../model.js';
import { commit } from './commit.js';
import { unchanged, type StoreState } from './state.js';
import type { ChangeResult } from './store.js';

// Operator rules: the same content is the same rule; an explicit id is never reused.

export function addRule(s: StoreState, input: RuleInput): ChangeResult & { rule: Rule } {
  const rule = normalizeRule(input);
  const existing = s.rules.get(rule.id);
  if (existing) {
    // Same rule again; an empty description keeps the one it has (proto3 cannot tell '' from unset).
    if (ruleContentId(existing) === ruleContentId(rule) && (!rule.description || rule.description === existing.description))
      return { ...unchanged(s), rule: existing };
    if (input.id)
      throw new IsolationError('ISOLATION_RULE_CONFLICT', `rule id '${rule.id}' is already used by another rule: remove it first or pick another id`, {
        details: { ruleId: rule.id },
      });
    // Same content, new description: an update.
  }
  return { ...commit(s, [{ kind: 'rule-upserted', rule }]), rule };
}

export function removeRule(s: StoreState, id: string): ChangeResult {
  if (!s.rules.has(id))
    throw new IsolationError('ISOLATION_UNKNOWN_RULE', `there is no rule '${id}': list the rules to see their ids`, { details: { ruleId: id } });
  return commit(s, [{ kind: 'rule-removed', id }]);
}
