/**
 * Service implementations (harvesting clients, one per `serviceType`) and their `/impl` listing (compat spec
 * §2.3, §3.4). The registry holds the descriptive fields FOLIO lists and, once the harvesting issue plugs
 * them in, a factory per type; the harvest looks an implementation up by exact, case-sensitive type.
 */

/** ServiceImplementation (§3.4), as registered; optional fields are emitted only when informative. */
export interface ServiceImplementationInfo {
  name: string;
  description?: string;
  type: string;
  isAggregator: boolean;
  isDefault?: boolean;
  reportRelease?: string;
  supportedReports?: string[];
  configurationParameters?: string[];
}

export interface RegisteredImplementation<F> {
  info: ServiceImplementationInfo;
  /** Builds the client; supplied by the harvesting code (undefined: listed, but cannot harvest). */
  factory?: F;
}

/** Plain code-point (UTF-16 code unit) order, not locale order. */
function codeUnitCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The JSON of one entry: schema order; optional fields only when they carry information. */
export function renderImplementation(info: ServiceImplementationInfo): ServiceImplementationInfo {
  const out: ServiceImplementationInfo = { name: info.name } as ServiceImplementationInfo;
  if (info.description) out.description = info.description;
  out.type = info.type;
  out.isAggregator = info.isAggregator;
  if (info.isDefault === true) out.isDefault = true;
  if (info.reportRelease) out.reportRelease = info.reportRelease;
  if (info.supportedReports && info.supportedReports.length > 0)
    out.supportedReports = [...info.supportedReports].sort(codeUnitCompare);
  if (info.configurationParameters && info.configurationParameters.length > 0)
    out.configurationParameters = [...info.configurationParameters];
  return out;
}

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

const R4_REPORTS = [
  'BR1',
  'BR2',
  'BR3',
  'BR4',
  'BR5',
  'BR7',
  'DB1',
  'DB2',
  'JR1',
  'JR1 GOA',
  'JR1a',
  'JR2',
  'JR3',
  'JR3 Mobile',
  'JR4',
  'JR5',
  'MR1',
  'MR1 Mobile',
  'PR1',
  'TR1',
  'TR2',
  'TR3',
  'TR3 Mobile',
];
const R5_MASTER_REPORTS = ['DR', 'IR', 'PR', 'TR'];

/** The four production implementations, exactly as the Java module lists them. */
export const BUILT_IN_IMPLEMENTATIONS: readonly ServiceImplementationInfo[] = [
  {
    name: 'Counter 5.0',
    description: 'Implementation for Counter/Sushi 5',
    type: 'cs50',
    isAggregator: false,
    reportRelease: '5',
    supportedReports: R5_MASTER_REPORTS,
  },
  {
    name: 'Counter 5.1',
    description: 'Implementation for Counter/Sushi 5.1',
    type: 'cs51',
    isAggregator: false,
    isDefault: true,
    reportRelease: '5.1',
    supportedReports: R5_MASTER_REPORTS,
  },
  {
    name: 'Counter-Sushi 4.1',
    description: 'SOAP-based implementation for CounterSushi 4.1',
    type: 'cs41',
    isAggregator: false,
    reportRelease: '4',
    supportedReports: R4_REPORTS,
  },
  {
    name: 'Nationaler Statistikserver',
    description: 'Implementation for Germanys National Statistics Server (https://sushi.redi-bw.de).',
    type: 'NSS',
    isAggregator: true,
    reportRelease: '4',
    supportedReports: R4_REPORTS,
    configurationParameters: ['apiKey', 'requestorId', 'customerId'],
  },
];

/** A registry holding the four built-in implementations (without factories). */
export function createImplementationRegistry<F = unknown>(): ImplementationRegistry<F> {
  const registry = new ImplementationRegistry<F>();
  for (const info of BUILT_IN_IMPLEMENTATIONS) registry.register(info);
  return registry;
}

/** The process-wide registry that `/impl` lists and the harvest uses. */
export const implementations: ImplementationRegistry = createImplementationRegistry();
