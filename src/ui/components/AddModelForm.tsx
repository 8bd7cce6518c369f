// Owns the "Add a model by address" form: a hub repo id (revision, mirror) or a folder URL, checked before it is
// added to the model list. It downloads nothing itself: the added model's card does, like a catalog entry.
import { createSignal, Show, type JSX } from 'solid-js';
import { parseModelAddress, type AddressField } from '../lib/model-address';
import { useModels } from '../stores/model-store';

export function AddModelForm(): JSX.Element {
  const models = useModels();
  const [address, setAddress] = createSignal('');
  const [revision, setRevision] = createSignal('');
  const [endpoint, setEndpoint] = createSignal('');
  const [error, setError] = createSignal<{ field: AddressField; message: string } | null>(null);
  const inputs: Partial<Record<AddressField, HTMLInputElement>> = {};
  const invalid = (field: AddressField) => error()?.field === field;
  const describedBy = (field: AddressField, hint: string) =>
    invalid(field) ? `add-model-error ${hint}` : hint;

  const submit = () => {
    const parsed = parseModelAddress({ address: address(), revision: revision(), endpoint: endpoint() });
    if (!parsed.ok) {
      setError({ field: parsed.field, message: parsed.message });
      inputs[parsed.field]?.focus();
      return;
    }
    const why = models.addModel(parsed.model);
    if (why !== null) {
      setError({ field: 'address', message: why });
      inputs.address?.focus();
      return;
    }
    setError(null);
    setAddress('');
    setRevision('');
    setEndpoint('');
  };

  const field = (
    name: AddressField,
    label: string,
    value: () => string,
    set: (v: string) => void,
    placeholder: string,
  ) => (
    <div class="field">
      <label for={`add-model-${name}`}>{label}</label>
      <input
        id={`add-model-${name}`}
        ref={(el) => (inputs[name] = el)}
        type="text"
        inputmode="url"
        autocomplete="off"
        spellcheck={false}
        placeholder={placeholder}
        value={value()}
        aria-invalid={invalid(name)}
        aria-describedby={describedBy(name, 'add-model-hint')}
        onInput={(e) => {
          set(e.currentTarget.value);
          if (invalid(name)) setError(null);
        }}
      />
    </div>
  );

  return (
    <details class="add-model">
      <summary>Add a model by address…</summary>
      <form
        class="add-model-form"
        aria-label="Add a model by address"
        novalidate
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        {field(
          'address',
          'Hub repo id or folder address',
          address,
          setAddress,
          'owner/name  or  https://example.org/models/my-llava/',
        )}
        <div class="add-model-hub">
          {field('revision', 'Revision', revision, setRevision, 'main')}
          {field('endpoint', 'Mirror', endpoint, setEndpoint, 'https://huggingface.co')}
        </div>
        <p id="add-model-hint" class="hint">
          A hub repo with an ONNX export for transformers.js (e.g. llava-hf/llava-interleave-qwen-0.5b-hf), or
          the address of a folder in that layout (config.json, tokenizer files, onnx/*.onnx). Revision and
          mirror (like HF_ENDPOINT) apply to hub repos. The server must let this site read it (CORS).
        </p>
        <Show when={error()}>
          {(e) => (
            <p id="add-model-error" class="form-error" role="alert">
              {e().message}
            </p>
          )}
        </Show>
        <button type="submit" class="button">
          Add to the list
        </button>
      </form>
    </details>
  );
}
