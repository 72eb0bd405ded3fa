import type { VersionReport } from '../types.js';

const PALETTE = ['c0', 'c1', 'c2', 'c3', 'c4', 'c5'];

/** What the fleet runs: one stacked bar per device type, a segment per installed version. */
export function VersionChart({ report }: { report: VersionReport[] }) {
  if (report.length === 0) return <p class="muted">No accepted devices yet.</p>;
  return (
    <div class="versions">
      {report.map((type) => (
        <figure key={type.deviceType ?? '-'}>
          <figcaption>
            <strong>{type.deviceType ?? 'type not reported'}</strong> <span class="muted">{type.devices} devices</span>
          </figcaption>
          <div class="stack" role="img" aria-label={type.versions.map((v) => `${label(v)}: ${v.devices}`).join(', ')}>
            {type.versions.map((v, i) => (
              <span
                key={label(v)}
                class={PALETTE[i % PALETTE.length]}
                style={{ width: `${v.percent}%` }}
                title={`${label(v)}: ${v.devices}`}
              />
            ))}
          </div>
          <ul class="legend">
            {type.versions.map((v, i) => (
              <li key={label(v)}>
                <span class={`swatch ${PALETTE[i % PALETTE.length]}`} aria-hidden="true" />
                {label(v)} — {v.devices} ({v.percent.toFixed(0)}%)
              </li>
            ))}
          </ul>
        </figure>
      ))}
    </div>
  );
}

function label(v: VersionReport['versions'][number]): string {
  return v.artifact ? `${v.artifact} ${v.version ?? ''}`.trim() : 'unknown';
}
