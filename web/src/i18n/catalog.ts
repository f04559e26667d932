import type { MessageKey } from './en.ts';

/** A translation: every key of the English catalog, no more, no fewer (the compiler checks). */
export type Catalog = Record<MessageKey, string>;
