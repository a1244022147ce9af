// STUB — replaced by the store routes.
import type { ServiceContext } from '../context.ts';
import type { LocalErmStore } from '../erm/local-store.ts';
import type { App } from './app.ts';
export function ermRoutes(_ctx: ServiceContext, _store: LocalErmStore) {
  return async (_app: App) => {};
}
