import { call } from './server-harness.mjs';

/**
 * Deploys artifact `ref` (NAME@VERSION) to one device and asks for the device's next deployment,
 * as the agent does: resolves the offered download URL, after checking it is the uploaded artifact.
 */
export async function offeredDownloadLink(server, device, deviceId, ref, artifact) {
  const created = await call(
    `${server.url}/api/management/v1/deployments`,
    server.ca,
    'POST',
    { artifact: ref, devices: [deviceId] },
    server.session,
  );
  if (created.status !== 201) throw new Error(`create deployment: ${created.status} ${JSON.stringify(created.json)}`);
  // 204 (nothing yet) is retried for a while, in case a rollout tick has to start the first phase.
  let next;
  for (let i = 0; i < 60; i++) {
    next = await device.call('GET', '/deployments/next');
    if (next.status !== 204) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  if (next.status !== 200) throw new Error(`deployments/next: ${next.status} ${JSON.stringify(next.body)}`);
  const offered = next.body;
  if (offered.artifact?.sha256 !== artifact.sha256 || Number(offered.artifact?.size) !== artifact.size)
    throw new Error(`deployments/next offers ${JSON.stringify(offered.artifact)}, not the uploaded artifact (${artifact.sha256})`);
  if (typeof offered.download?.url !== 'string') throw new Error(`deployments/next has no download URL: ${JSON.stringify(offered)}`);
  return new URL(offered.download.url, server.url).toString();
}
