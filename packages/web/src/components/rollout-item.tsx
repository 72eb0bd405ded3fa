import type { ComponentChildren } from 'preact';
import { href } from '../router.js';
import type { Deployment } from '../types.js';
import { Badge } from './ui.js';

/** One deployment in a list: its release linked to its page, its status, a line of facts and its bars. */
export function RolloutItem({
  deployment,
  facts,
  children,
}: {
  deployment: Deployment;
  facts: ComponentChildren;
  children: ComponentChildren;
}) {
  return (
    <li>
      <a href={href('deployments', deployment.id)}>
        {deployment.artifact.name} {deployment.artifact.version}
      </a>{' '}
      <Badge status={deployment.status} /> <span class="muted">{facts}</span>
      {children}
    </li>
  );
}
