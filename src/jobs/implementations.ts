/**
 * The `/impl` listing (compat spec §2.3, §3.4): rendering, the aggregator filter, and a registry for
 * implementations added at run time. The COUNTER implementations themselves live in src/sushi/.
 */

import { codeUnitCompare, renderInfo } from '../sushi/registry.ts';
import type { ServiceImplementationInfo } from '../sushi/types.ts';

export type { ServiceImplementationInfo };

export interface RegisteredImplementation<F> {
  info: ServiceImplementationInfo;
  /** Builds the client; supplied by the harvesting code (undefined: listed, but cannot harvest). */
  factory?: F;
}

/** The JSON of one entry: schema order; optional fields only when they carry information. */
export const renderImplementation = renderInfo;

/**
 * The `aggregator` filter of `/impl`: absent or empty → no filter; `true` in any case → true; any other
 * string → false.
 */
export function parseAggregatorFilter(value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  return value.toLowerCase() === 'true';
}

/**
 * What `/impl` lists. The composition root may pass another source (e.g. one whose entries depend on
 * options such as the standard-views option of §8.8) through `JobServiceOptions.implementations`.
 */
export interface ImplementationListing {
  /** Rendered entries, filtered by `isAggregator` when given, sorted by name in code-unit order. */
  list(isAggregator?: boolean): ServiceImplementationInfo[];
}

export class ImplementationRegistry<F = unknown> implements ImplementationListing {
  private readonly entries = new Map<string, RegisteredImplementation<F>>();

  /** Adds or replaces the implementation of `info.type`. */
  register(info: ServiceImplementationInfo, factory?: F): void {
    this.entries.set(info.type, { info, factory });
  }

  /** Attaches the factory of an already listed type. */
  setFactory(type: string, factory: F): void {
    const entry = this.entries.get(type);
    if (!entry) throw new Error(`No service implementation of type '${type}' is registered`);
    entry.factory = factory;
  }

  unregister(type: string): void {
    this.entries.delete(type);
  }

  /** Exact, case-sensitive look-up by `serviceType`. */
  get(type: string | undefined): RegisteredImplementation<F> | undefined {
    return type ? this.entries.get(type) : undefined;
  }

  /** The `/impl` entries: filtered by `isAggregator` when given, sorted by name, rendered. */
  list(isAggregator?: boolean): ServiceImplementationInfo[] {
    return [...this.entries.values()]
      .map((e) => e.info)
      .filter((info) => isAggregator === undefined || info.isAggregator === isAggregator)
      .sort((a, b) => codeUnitCompare(a.name, b.name))
      .map(renderImplementation);
  }
}

/**
 * The `/impl` listing: the COUNTER implementations of src/sushi/registry.ts (one source of truth, with
 * the standard-views option) plus any registered at run time in `implementations` (test builds, §9.0).
 */
export function combinedListing(
  builtIn: (isAggregator?: boolean) => ServiceImplementationInfo[],
  extra: ImplementationRegistry = implementations,
): ImplementationListing {
  return {
    list(isAggregator?: boolean) {
      const own = builtIn(isAggregator);
      const types = new Set(own.map((i) => i.type));
      return [...own, ...extra.list(isAggregator).filter((i) => !types.has(i.type))].sort((a, b) =>
        codeUnitCompare(a.name, b.name),
      );
    },
  };
}

/** Implementations registered at run time besides the built-in COUNTER ones (test builds). */
export const implementations = new ImplementationRegistry();
