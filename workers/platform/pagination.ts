/**
 * Cursor pagination as every list of the API does it: the query reads `limit + 1` rows after
 * the cursor, in the list's order; the extra row only says whether another page follows, and
 * the cursor of that page is the last item's.
 */

export interface Page<T, C> {
  items: T[];
  /** Pass back to get the next page; null on the last one. */
  nextCursor: C | null;
}

/** How many rows a page's query reads: one more than it shows. */
export const rowsForPage = (limit: number) => limit + 1;

/** The page of `rows` (read with `rowsForPage(limit)`), its cursor taken by `cursorOf`. */
export function readPage<T, C>(rows: T[], limit: number, cursorOf: (row: T) => C): Page<T, C> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last !== undefined ? cursorOf(last) : null };
}
