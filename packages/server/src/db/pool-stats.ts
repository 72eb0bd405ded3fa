/** Connection-pool occupancy, for /metrics. Dialects that have no pool report only their one connection. */
export interface PoolStats {
  /** Open connections. */
  readonly total: number;
  /** Open connections not serving a query; undefined when the driver cannot tell. */
  readonly idle?: number;
  /** Queries queued for a connection; undefined when the driver cannot tell. */
  readonly waiting?: number;
}

export type PoolStatsSource = () => PoolStats;
