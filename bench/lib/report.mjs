// Statistics and plain-text tables.

export function median(values) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function max(values) {
  const present = values.filter((v) => v !== null && v !== undefined);
  return present.length ? Math.max(...present) : null;
}

export const fixed = (v, digits = 2) => (v === null || v === undefined ? '-' : v.toFixed(digits));

/** Renders rows (arrays of strings) under headers; columns listed in `right` are right-aligned. */
export function table(headers, rows, right = new Set()) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells
      .map((c, i) => (right.has(i) ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
