/**
 * Ids are `<prefix>_<hex>`: the prefix says what an id names in logs and URLs, and each kind's
 * pattern is derived from the same table, so a route's validation and the generator cannot drift.
 */
export const ID_KINDS = {
  key: { prefix: "key", hexLength: 20 },
  webhook: { prefix: "whk", hexLength: 20 },
  delivery: { prefix: "msg", hexLength: 32 },
  event: { prefix: "evt", hexLength: 32 },
  change: { prefix: "chg", hexLength: 32 },
  request: { prefix: "req", hexLength: 32 },
  experiment: { prefix: "exp", hexLength: 20 },
} as const;
export type IdKind = keyof typeof ID_KINDS;

export function newId(kind: IdKind): string {
  const { prefix, hexLength } = ID_KINDS[kind];
  return `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, hexLength)}`;
}

export function idPattern(kind: IdKind): RegExp {
  const { prefix, hexLength } = ID_KINDS[kind];
  return new RegExp(`^${prefix}_[a-f0-9]{${hexLength}}$`);
}
