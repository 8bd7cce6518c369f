// Owns the settings form: theme, temperature, top_p, max new tokens, system prompt, template, device, the KV-cache
// budget for follow-up questions, working ahead while the user types, and loading the last model when the app opens.
// The hub token field is its own component (HubTokenField), kept on the device rather than in these settings.
import type { JSX } from 'solid-js';
import type { BackendName, TemplateName } from '../../shared/protocol';
import { MAX_KV_CACHE_MIB, useSettings, type Theme } from '../stores/settings-store';
import { HubTokenField } from './HubTokenField';

/** A checkbox with its label and a hint that says what it costs. */
function CheckField(props: {
  id: string;
  label: string;
  hint: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
}): JSX.Element {
  return (
    <div class="field field-check">
      <label for={props.id}>
        <input
          id={props.id}
          type="checkbox"
          checked={props.checked}
          aria-describedby={`${props.id}-hint`}
          onChange={(e) => props.onChange(e.currentTarget.checked)}
        />
        {props.label}
      </label>
      <p id={`${props.id}-hint`} class="hint">
        {props.hint}
      </p>
    </div>
  );
}

export function SettingsForm(): JSX.Element {
  const { settings, update, reset } = useSettings();
  const num = (e: Event & { currentTarget: HTMLInputElement }) => Number(e.currentTarget.value);
  return (
    <section class="settings" aria-label="Settings">
      <div class="field">
        <label for="set-theme">Theme</label>
        <select
          id="set-theme"
          value={settings.theme}
          onChange={(e) => update({ theme: e.currentTarget.value as Theme })}
        >
          <option value="system">As the system</option>
          <option value="light">Light</option>
          <option value="dark">Dark</option>
        </select>
      </div>
      <div class="field">
        <label for="set-temperature">
          Temperature <output for="set-temperature">{settings.temperature.toFixed(2)}</output>
        </label>
        <input
          id="set-temperature"
          type="range"
          min="0"
          max="2"
          step="0.05"
          value={settings.temperature}
          aria-describedby="set-temperature-hint"
          onInput={(e) => update({ temperature: num(e) })}
        />
        <p id="set-temperature-hint" class="hint">
          0 always picks the likeliest word (repeatable); higher is more varied.
        </p>
      </div>
      <div class="field">
        <label for="set-topp">
          Top-p <output for="set-topp">{settings.topP.toFixed(2)}</output>
        </label>
        <input
          id="set-topp"
          type="range"
          min="0.05"
          max="1"
          step="0.05"
          value={settings.topP}
          onInput={(e) => update({ topP: num(e) })}
        />
      </div>
      <div class="field">
        <label for="set-max">Max new tokens</label>
        <input
          id="set-max"
          type="number"
          min="1"
          max="4096"
          step="1"
          value={settings.maxNewTokens}
          aria-describedby="set-max-hint"
          onChange={(e) => update({ maxNewTokens: Math.max(1, Math.min(4096, Math.round(num(e)) || 1)) })}
        />
        <p id="set-max-hint" class="hint">
          The longest answer you allow. An answer also ends when the model’s context window is full; it then
          says so.
        </p>
      </div>
      <div class="field">
        <label for="set-system">System prompt</label>
        <textarea
          id="set-system"
          rows="3"
          placeholder="Optional. Applies to new chats."
          value={settings.systemPrompt}
          onChange={(e) => update({ systemPrompt: e.currentTarget.value })}
        />
      </div>
      <div class="field">
        <label for="set-template">Conversation template</label>
        <select
          id="set-template"
          value={settings.template}
          onChange={(e) => update({ template: e.currentTarget.value as TemplateName })}
        >
          <option value="model">The model’s own chat template</option>
          <option value="llava_v1">LLaVA v1 (USER: … ASSISTANT:)</option>
          <option value="vicuna_v1">Vicuna v1</option>
        </select>
      </div>
      <div class="field">
        <label for="set-device">Run on</label>
        <select
          id="set-device"
          value={settings.device}
          onChange={(e) => update({ device: e.currentTarget.value as BackendName | 'auto' })}
        >
          <option value="auto">Automatic (GPU when available)</option>
          <option value="webgpu">WebGPU (GPU)</option>
          <option value="wasm">WebAssembly (CPU)</option>
        </select>
        <p class="hint">Takes effect the next time a model is loaded.</p>
      </div>
      <div class="field">
        <label for="set-kv-cache">Memory for follow-up questions (MiB)</label>
        <input
          id="set-kv-cache"
          type="number"
          min="0"
          max={MAX_KV_CACHE_MIB}
          step="64"
          value={settings.kvCacheMiB}
          aria-describedby="set-kv-cache-hint"
          onChange={(e) => {
            const mib = Math.round(num(e));
            update({ kvCacheMiB: Number.isFinite(mib) ? Math.max(0, Math.min(MAX_KV_CACHE_MIB, mib)) : 0 });
            e.currentTarget.value = String(settings.kvCacheMiB);
          }}
        />
        <p id="set-kv-cache-hint" class="hint">
          The model’s working memory (KV cache) of recent chats is kept so a follow-up only reads the new
          words. 0 keeps none: every answer reads the whole chat again. Applies from the next answer.
        </p>
      </div>
      <CheckField
        id="set-work-ahead"
        label="Work ahead while I type"
        checked={settings.workAhead}
        onChange={(workAhead) => update({ workAhead })}
        hint="Reads the picture and the question as they are written, so answers start sooner. Costs some GPU/CPU work while you type."
      />
      <CheckField
        id="set-load-on-start"
        label="Load the last model when the app opens"
        checked={settings.loadModelOnStart}
        onChange={(loadModelOnStart) => update({ loadModelOnStart })}
        hint="Only a model already on this device. Off: the model loads when you send, so opening the app to read or export a chat uses no GPU memory."
      />
      <HubTokenField />
      <button type="button" class="button" onClick={reset}>
        Reset to defaults
      </button>
    </section>
  );
}
