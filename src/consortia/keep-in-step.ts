/**
 * Keeping one provider per consortium member in step with the parent provider's `/members` answer.
 *
 * A member provider is an ordinary usage data provider that carries
 *
 *     harvestingConfig.consortium = { parentId, customerId, name, gone? }
 *
 * (`name` is the member's name as last seen, `gone` marks a member provider this function
 * deactivated because the list no longer had it). It harvests with the parent's connection — service
 * type and URL, release, extra parameters, registry link, API key, platform, requestor id (unless the
 * member has its own) — and its own customer id.
 *
 * `keepMembersInStep` is pure: it says which providers to create, which to update (with what changed)
 * and which to deactivate. Nothing is ever deleted: a member's harvested reports stay. Records go in
 * and out with their credentials decrypted (compare and copy plain values; encrypt before storing).
 */
import type { UsageDataProvider } from '../model/records.ts';
import type { ConsortiumMember } from './members.ts';

export interface ConsortiumLink {
  parentId: string;
  customerId: string;
  name: string;
  /** Deactivated because the members list no longer had it. */
  gone?: boolean;
}

/** A member provider not stored yet. */
export type NewMemberProvider = Partial<UsageDataProvider> & { label: string };

export interface MemberUpdate {
  provider: UsageDataProvider;
  /** Dotted paths of what changed (`label`, `sushiCredentials.apiKey`, `status`, ...). */
  changes: string[];
}

export interface KeepInStepResult {
  create: NewMemberProvider[];
  update: MemberUpdate[];
  deactivate: MemberUpdate[];
  /** Member providers that need nothing. */
  unchanged: UsageDataProvider[];
  warnings: string[];
}

export interface KeepInStepOptions {
  /** The label of a member provider; default `<member name> (<parent label>)`. */
  labelOf?: (parent: UsageDataProvider, member: ConsortiumMember) => string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The provider's consortium link, when it has a well-formed one. */
export function consortiumLinkOf(provider: { harvestingConfig?: object }): ConsortiumLink | undefined {
  const link = (provider.harvestingConfig as Record<string, unknown> | undefined)?.consortium;
  if (!isObject(link) || typeof link.parentId !== 'string' || typeof link.customerId !== 'string')
    return undefined;
  return {
    parentId: link.parentId,
    customerId: link.customerId,
    name: typeof link.name === 'string' ? link.name : '',
    ...(link.gone === true ? { gone: true } : {}),
  };
}

function defaultLabel(parent: UsageDataProvider, member: ConsortiumMember): string {
  return `${member.name} (${parent.label})`;
}

type Shared = Record<string, unknown>;

/** The parent's connection settings a member harvests with, by dotted path. */
function sharedOf(parent: UsageDataProvider, member: ConsortiumMember): Shared {
  const config = parent.harvestingConfig ?? {};
  const credentials = parent.sushiCredentials ?? {};
  return {
    'harvestingConfig.harvestVia': config.harvestVia,
    'harvestingConfig.sushiConfig': config.sushiConfig,
    'harvestingConfig.reportRelease': config.reportRelease,
    'harvestingConfig.registry': config.registry,
    'sushiCredentials.requestorId': member.requestorId ?? credentials.requestorId,
    'sushiCredentials.apiKey': credentials.apiKey,
    'sushiCredentials.platform': credentials.platform,
    'sushiCredentials.requestorName': credentials.requestorName,
    'sushiCredentials.requestorMail': credentials.requestorMail,
  };
}

function get(record: Record<string, unknown>, path: string): unknown {
  let v: unknown = record;
  for (const key of path.split('.')) v = isObject(v) ? v[key] : undefined;
  return v;
}

function set(record: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let holder = record;
  for (const key of keys.slice(0, -1)) {
    if (!isObject(holder[key])) holder[key] = {};
    holder = holder[key] as Record<string, unknown>;
  }
  const last = keys[keys.length - 1];
  if (value === undefined || value === '') delete holder[last];
  else holder[last] = structuredClone(value);
}

/** JSON equality with object keys in any order; `''` and absent count as the same. */
function same(a: unknown, b: unknown): boolean {
  const canonical = (v: unknown): unknown => {
    if (v === '' || v === null) return undefined;
    if (Array.isArray(v)) return v.map(canonical);
    if (isObject(v)) {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, canonical(v[k])] as const)
          .filter(([, x]) => x !== undefined),
      );
    }
    return v;
  };
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function newMember(parent: UsageDataProvider, member: ConsortiumMember, label: string): NewMemberProvider {
  const config = parent.harvestingConfig ?? {};
  const record: Record<string, unknown> = {
    label,
    status: 'active',
    harvestingConfig: {
      harvestingStatus: config.harvestingStatus ?? 'active',
      ...(config.requestedReports ? { requestedReports: [...config.requestedReports] } : {}),
      ...(config.harvestingStart ? { harvestingStart: config.harvestingStart } : {}),
      ...(config.harvestingEnd ? { harvestingEnd: config.harvestingEnd } : {}),
      ...(config.politeness ? { politeness: structuredClone(config.politeness) } : {}),
      consortium: { parentId: parent.id, customerId: member.customerId, name: member.name },
    },
    sushiCredentials: { customerId: member.customerId },
    ...(member.notes ? { notes: member.notes } : {}),
  };
  for (const [path, value] of Object.entries(sharedOf(parent, member))) set(record, path, value);
  return record as NewMemberProvider;
}

/**
 * What to do so that the parent's member providers match its members list:
 *
 * * a member without a provider → `create` (active, harvesting as the parent does);
 * * a member provider whose connection settings differ from the parent's, whose member was renamed
 *   (the label follows when it is still the generated one) or has a new own requestor id → `update`;
 * * a member provider that was deactivated because its member had left, and the member is back →
 *   `update` (active again);
 * * a member provider whose customer id the list no longer has → `deactivate` (status and harvesting
 *   inactive, `consortium.gone`); a provider deactivated by hand stays inactive even when its member
 *   is listed.
 *
 * The parent's own customer id is not a member. An answer with no members besides the parent
 * deactivates nothing (a provider that lists only the customer itself, or an empty answer, says
 * nothing about the members).
 */
export function keepMembersInStep(
  parent: UsageDataProvider,
  members: readonly ConsortiumMember[],
  current: readonly UsageDataProvider[],
  options: KeepInStepOptions = {},
): KeepInStepResult {
  const labelOf = options.labelOf ?? defaultLabel;
  const result: KeepInStepResult = { create: [], update: [], deactivate: [], unchanged: [], warnings: [] };
  const parentCustomerId = parent.sushiCredentials?.customerId;
  const listed = members.filter((m) => m.customerId !== parentCustomerId);

  const byCustomerId = new Map<string, UsageDataProvider>();
  for (const provider of current) {
    const link = consortiumLinkOf(provider);
    if (!link || link.parentId !== parent.id || provider.id === parent.id) continue;
    if (byCustomerId.has(link.customerId)) {
      result.warnings.push(
        `providers ${byCustomerId.get(link.customerId)!.id} and ${provider.id} are both member ${link.customerId}; ` +
          `only the first is kept in step`,
      );
      continue;
    }
    byCustomerId.set(link.customerId, provider);
  }

  for (const member of listed) {
    const existing = byCustomerId.get(member.customerId);
    if (!existing) {
      result.create.push(newMember(parent, member, labelOf(parent, member)));
      continue;
    }
    const link = consortiumLinkOf(existing)!;
    const updated = structuredClone(existing) as UsageDataProvider & Record<string, unknown>;
    const changes: string[] = [];
    for (const [path, value] of Object.entries(sharedOf(parent, member))) {
      if (!same(get(updated, path), value)) {
        set(updated, path, value);
        changes.push(path);
      }
    }
    if (link.name !== member.name) {
      const generated = labelOf(parent, { ...member, name: link.name });
      if (existing.label === generated) {
        updated.label = labelOf(parent, member);
        changes.push('label');
      }
      changes.push('harvestingConfig.consortium.name');
    }
    const newLink: ConsortiumLink = {
      parentId: link.parentId,
      customerId: link.customerId,
      name: member.name,
    };
    if (link.gone) {
      updated.status = 'active';
      updated.harvestingConfig = {
        ...updated.harvestingConfig,
        harvestingStatus: parent.harvestingConfig?.harvestingStatus ?? 'active',
      };
      changes.push('status', 'harvestingConfig.harvestingStatus');
    }
    updated.harvestingConfig = { ...updated.harvestingConfig, consortium: newLink };
    if (changes.length > 0) result.update.push({ provider: updated, changes });
    else result.unchanged.push(existing);
  }

  const stillListed = new Set(listed.map((m) => m.customerId));
  for (const [customerId, provider] of byCustomerId) {
    if (stillListed.has(customerId)) continue;
    const link = consortiumLinkOf(provider)!;
    if (listed.length === 0) {
      result.unchanged.push(provider);
      continue;
    }
    if (link.gone && provider.status === 'inactive') {
      result.unchanged.push(provider);
      continue;
    }
    const updated = structuredClone(provider);
    updated.status = 'inactive';
    updated.harvestingConfig = {
      ...updated.harvestingConfig,
      harvestingStatus: 'inactive',
      consortium: { ...link, gone: true },
    };
    result.deactivate.push({ provider: updated, changes: ['status', 'harvestingConfig.harvestingStatus'] });
  }
  if (listed.length === 0 && byCustomerId.size > 0) {
    result.warnings.push(
      `the members list names no member besides ${parent.label} itself; no member provider was deactivated`,
    );
  }
  return result;
}
