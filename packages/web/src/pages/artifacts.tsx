import { useState } from 'preact/hooks';
import { api, describeError, upload } from '../api.js';
import { bytes, ConfirmButton, ErrorLine, Field, Loading, Section, Table, When } from '../components/ui.js';
import { useAction, useLoad } from '../hooks.js';
import { Can, useCan } from '../session.js';
import type { Artifact } from '../types.js';

export function Artifacts() {
  const list = useLoad(() => api<Artifact[]>('GET', '/artifacts'), [], 15_000);
  const canDelete = useCan('artifacts.delete');
  const action = useAction();
  return (
    <>
      <h1>Artifacts</h1>
      <Can permission="artifacts.upload">
        <Upload onUploaded={list.reload} />
      </Can>
      <ErrorLine error={list.error ?? action.error} />
      {!list.data ? (
        <Loading what="artifacts" />
      ) : (
        <Section title={`${list.data.length} artifact${list.data.length === 1 ? '' : 's'}`}>
          <Table headers={['Release', 'Device types', 'Signatures', 'Size', 'Uploaded', ...(canDelete ? ['Delete'] : [])]}>
            {list.data.map((a) => (
              <tr key={a.id}>
                <td>
                  <strong>{a.name}</strong> {a.version}
                  <div class="muted small">
                    {a.payloadType}, security version {a.securityVersion}
                  </div>
                </td>
                <td>{a.deviceTypes.join(', ')}</td>
                <td>
                  <Signatures artifact={a} />
                </td>
                <td>{bytes(a.size)}</td>
                <td>
                  <When at={a.uploadedAt} /> <span class="muted small">by {a.uploadedBy}</span>
                </td>
                {canDelete ? (
                  <td>
                    <ConfirmButton
                      class="danger"
                      disabled={action.busy}
                      confirm={`Delete ${a.name} ${a.version} from the server?`}
                      onConfirmed={() => void action.run(() => api('DELETE', `/artifacts/${a.id}`)).then(list.reload)}
                    >
                      Delete <span class="sr-only">{`${a.name} ${a.version}`}</span>
                    </ConfirmButton>
                  </td>
                ) : null}
              </tr>
            ))}
          </Table>
        </Section>
      )}
    </>
  );
}

function Signatures({ artifact }: { artifact: Artifact }) {
  return (
    <>
      {artifact.signed ? <span class="badge good">threshold met</span> : <span class="badge bad">unsigned: devices refuse it</span>}
      {artifact.rootVersion !== null ? <span class="muted small"> under root v{artifact.rootVersion}</span> : null}
      <ul class="plain small">
        {artifact.signedBy.map((key) => (
          <li key={key}>
            <code title={key}>{key.slice(0, 16)}</code>
          </li>
        ))}
      </ul>
    </>
  );
}

function Upload({ onUploaded }: { onUploaded: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [sent, setSent] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  return (
    <form
      class="card inline"
      aria-label="upload an artifact"
      onSubmit={async (event) => {
        event.preventDefault();
        if (!file) return;
        setError(null);
        setDone(null);
        setSent(0);
        try {
          const artifact = await upload<Artifact>('/artifacts', file, (n) => setSent(n));
          setDone(`uploaded ${artifact.name} ${artifact.version}: the server verified its signatures`);
          setFile(null);
          (event.currentTarget as HTMLFormElement).reset();
          onUploaded();
        } catch (err) {
          setError(describeError(err));
        } finally {
          setSent(null);
        }
      }}
    >
      <Field label="Upload a signed artifact (.slw)">
        <input name="artifact" type="file" accept=".slw" required onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
      </Field>
      <button type="submit" disabled={!file || sent !== null}>
        Upload
      </button>
      {sent !== null && file ? (
        <progress max={file.size} value={sent} aria-label="upload progress">
          {Math.round((sent / Math.max(file.size, 1)) * 100)}%
        </progress>
      ) : null}
      {done ? (
        <p class="ok" role="status">
          {done}
        </p>
      ) : null}
      <ErrorLine error={error} />
    </form>
  );
}
