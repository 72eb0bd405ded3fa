import type { Compilable, CompiledQuery, Kysely } from 'kysely';

/**
 * A query of fixed shape, built and compiled on first use; each call binds new values. Building
 * and compiling the same query tree on every request cost more than running it, so the per-request
 * path (authentication) uses this. Values are bound by the parameter positions found at compile
 * time, never spliced into SQL text. `build` must not branch on its values and declares each one
 * as a plain parameter, e.g. `(db, hash) => db.selectFrom('t').selectAll().where('h', '=', hash)`.
 */
export function preparedQuery<DB, Row>(
  db: Kysely<DB>,
  build: (db: Kysely<DB>, ...values: string[]) => Compilable<Row>,
): (...values: string[]) => Promise<Row[]> {
  const arity = build.length - 1;
  let compiled: { query: CompiledQuery<Row>; valueAt: number[] } | undefined;
  const compile = () => {
    // Unique markers stand in for the values; each parameter is then a marker's index, or -1 for a constant.
    const markers = Array.from({ length: arity }, (_, i) => `\u0000slipway-value-${i}\u0000`);
    const query = build(db, ...markers).compile();
    const valueAt = query.parameters.map((p) => (typeof p === 'string' ? markers.indexOf(p) : -1));
    for (let i = 0; i < arity; i++) {
      if (!valueAt.includes(i)) throw new Error(`preparedQuery: value ${i} is not a parameter of ${query.sql}`);
    }
    return { query, valueAt };
  };
  return async (...values) => {
    if (values.length !== arity) throw new Error(`preparedQuery: expected ${arity} values, got ${values.length}`);
    compiled ??= compile();
    const { query, valueAt } = compiled;
    const parameters = query.parameters.map((constant, i) => {
      const at = valueAt[i] ?? -1;
      return at < 0 ? constant : values[at];
    });
    return (await db.executeQuery<Row>({ ...query, parameters })).rows;
  };
}
