/**
 * The directory that holds package.json, web/ and the sources: the parent of src/, whether this module
 * runs as TypeScript from src/ or compiled from dist/src/ (`npm start`, docs/decisions.md).
 */
import path from 'node:path';

export function packageRoot(): string {
  const here = import.meta.dirname;
  const parent = path.dirname(here);
  return path.basename(parent) === 'dist' ? path.dirname(parent) : parent;
}
