import { lazy, type ComponentType, type LazyExoticComponent } from 'react';

/** A page as its own chunk, fetched when first opened (the first page stays small). */
export const lazyPage = <K extends string>(
  load: () => Promise<Record<K, ComponentType>>,
  name: K,
): LazyExoticComponent<ComponentType> => lazy(() => load().then((module) => ({ default: module[name] })));
