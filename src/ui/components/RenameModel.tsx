// Owns renaming a stored model (an imported folder, a model trained in this browser): a button that opens a small
// form in place; the new name is stored with the model, its id and files stay as they are.
import { createSignal, Show, type JSX } from 'solid-js';
import { useModels } from '../stores/model-store';

export function RenameModel(props: { id: string; name: string; disabled: boolean }): JSX.Element {
  const models = useModels();
  const [open, setOpen] = createSignal(false);
  let field!: HTMLInputElement;
  const save = async () => {
    const name = field.value.trim();
    if (name !== '' && name !== props.name) await models.rename(props.id, name);
    setOpen(false);
  };
  return (
    <>
      <Show when={!open()}>
        <button
          type="button"
          class="button"
          disabled={props.disabled}
          onClick={() => {
            setOpen(true);
            field.value = props.name;
            field.select();
          }}
        >
          Rename
        </button>
      </Show>
      <form
        class="rename-form"
        hidden={!open()}
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <label>
          Name <input ref={field} type="text" maxlength="120" aria-label={`New name for ${props.name}`} />
        </label>
        <button type="submit" class="button primary">
          Save
        </button>
        <button type="button" class="button" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </form>
    </>
  );
}
