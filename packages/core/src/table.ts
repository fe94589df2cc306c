// ippc's one text table, for the commands' output to people (`--json` gives the data itself):
// columns aligned with two spaces between them, the last column not padded (as kubectl prints).

/** Renders rows as an aligned text table (the first row is the header). */
export function renderTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}
