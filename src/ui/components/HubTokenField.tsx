// Owns the hub access token field of Settings: paste, save on this device, clear. It never shows a saved token back
// and never sends it anywhere itself; the weight store sends it to the hub's own host only.
import { createResource, createSignal, Show, type JSX } from 'solid-js';

const tokenStore = () => import('../../store/hub-token');

export function HubTokenField(): JSX.Element {
  const [saved, { refetch }] = createResource(
    async () => (await (await tokenStore()).readHubToken()) !== undefined,
  );
  const [draft, setDraft] = createSignal('');
  const [note, setNote] = createSignal('');
  const save = async (value: string | null): Promise<void> => {
    await (await tokenStore()).saveHubToken(value);
    setDraft('');
    await refetch();
    setNote(value === null ? 'Token removed from this device.' : 'Token saved on this device.');
  };
  return (
    <div class="field">
      <label for="set-hub-token">Hub access token</label>
      <input
        id="set-hub-token"
        type="password"
        autocomplete="off"
        spellcheck={false}
        placeholder={
          saved() ? 'A token is saved (paste to replace)' : 'hf_… (only for gated or private models)'
        }
        value={draft()}
        aria-describedby="set-hub-token-hint"
        onInput={(e) => setDraft(e.currentTarget.value)}
      />
      <div class="token-actions">
        <button
          type="button"
          class="button"
          disabled={draft().trim() === ''}
          onClick={() => void save(draft())}
        >
          Save token
        </button>
        <Show when={saved()}>
          <button type="button" class="button" onClick={() => void save(null)}>
            Remove token
          </button>
        </Show>
      </div>
      <p id="set-hub-token-hint" class="hint" role="status">
        {note() ||
          'For gated or private Hugging Face models: a read token from your hub account settings. Kept only in this browser and sent only to the hub itself, never to download mirrors.'}
      </p>
    </div>
  );
}
