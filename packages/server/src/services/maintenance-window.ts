import { SlipwayError } from '@slipway/core';
import { Cron } from 'croner';

/** Installs start only from a cron occurrence until `durationMinutes` later, in a time zone. */
export interface MaintenanceWindow {
  readonly cron: string;
  readonly durationMinutes: number;
  readonly timezone: string;
}

const invalid = (message: string) => new SlipwayError('SLW_DEPLOYMENT_INVALID', message);
const MAX_DURATION_MINUTES = 7 * 24 * 60;

// `0 2 * * */4h/Europe/Berlin`: a five-field cron expression, a duration (`4h`, `90m`, `1h30m`)
// and an IANA time zone, joined by slashes. The cron part may itself contain steps (`*/2`), so the
// duration is found as the slash-separated part with a unit just before the zone.
export function parseWindow(text: string): MaintenanceWindow {
  const match = /^(.+)\/((?:\d+h)?(?:\d+m)?)\/([A-Za-z_+-]+(?:\/[A-Za-z0-9_+-]+)*)$/.exec(text.trim());
  if (!match?.[2])
    throw invalid(`maintenance window ${text.slice(0, 80)} is not CRON/DURATION/TIMEZONE, e.g. "0 2 * * */4h/Europe/Berlin"`);
  const [, cron, duration, timezone] = match as unknown as [string, string, string, string];
  const hours = /(\d+)h/.exec(duration);
  const minutes = /(\d+)m/.exec(duration);
  return checkWindow({
    cron: cron.trim(),
    durationMinutes: (hours ? Number(hours[1]) * 60 : 0) + (minutes ? Number(minutes[1]) : 0),
    timezone,
  });
}

export function checkWindow(window: MaintenanceWindow): MaintenanceWindow {
  if (!(window.durationMinutes >= 1 && window.durationMinutes <= MAX_DURATION_MINUTES))
    throw invalid('a maintenance window lasts from 1 minute to 7 days');
  try {
    new Intl.DateTimeFormat('en', { timeZone: window.timezone });
  } catch {
    throw invalid(`${window.timezone.slice(0, 64)} is not an IANA time zone (e.g. Europe/Berlin, UTC)`);
  }
  if (window.cron.split(/\s+/).length !== 5) throw invalid(`cron expression ${window.cron.slice(0, 64)} must have five fields`);
  try {
    if (schedule(window).nextRun(new Date()) === null) throw new Error('never');
  } catch {
    throw invalid(`cron expression ${window.cron.slice(0, 64)} is not valid or never fires`);
  }
  return window;
}

export function windowText(window: MaintenanceWindow): string {
  const h = Math.floor(window.durationMinutes / 60);
  const m = window.durationMinutes % 60;
  return `${window.cron}/${h ? `${h}h` : ''}${m ? `${m}m` : ''}/${window.timezone}`;
}

/**
 * Whether installing may start at `now`, and if not, when the next window opens. Inside means a
 * cron occurrence fell within the last `durationMinutes`.
 */
export function windowState(window: MaintenanceWindow, now: Date): { open: boolean; opensAt: string | null; closesAt: string | null } {
  const cron = schedule(window);
  const durationMs = window.durationMinutes * 60_000;
  // The first occurrence after (now - duration), if it is not after now, opened a window still open.
  const recent = cron.nextRun(new Date(now.getTime() - durationMs - 1));
  if (recent && recent.getTime() <= now.getTime()) {
    return { open: true, opensAt: null, closesAt: new Date(recent.getTime() + durationMs).toISOString() };
  }
  const next = cron.nextRun(now);
  return { open: false, opensAt: next ? next.toISOString() : null, closesAt: null };
}

function schedule(window: MaintenanceWindow): Cron {
  return new Cron(window.cron, { timezone: window.timezone, paused: true });
}
