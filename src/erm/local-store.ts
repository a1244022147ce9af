// STUB — replaced by the store implementation.
import type { ServiceContext } from '../context.ts';
import type { ErmStore } from './port.ts';
export class LocalErmStore {
  readonly port?: ErmStore;
  constructor(readonly ctx: ServiceContext) {}
}
