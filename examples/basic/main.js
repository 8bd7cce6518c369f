// A page that embeds the engine through the built library only: load a model, then stream an OpenAI-style answer
// about a picture. Plain JavaScript, no bundler; the library and its worker come from ../../dist-lib/.
import { createLlava } from '../../dist-lib/llava.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
$('model').value = params.get('model') ?? 'llava-hf/llava-interleave-qwen-0.5b-hf';

let llava = null;
let controller = null;

$('load').addEventListener('click', async () => {
  $('load').disabled = true;
  try {
    llava?.dispose();
    llava = await createLlava({
      model: $('model').value,
      onProgress: (e) =>
        ($('status').textContent =
          `Loading… ${e.kind} ${Math.round((100 * e.loaded) / Math.max(1, e.total))} %`),
    });
    const { model, backend } = await llava.status();
    $('status').textContent = `Ready: ${model.id} on ${backend}.`;
    $('ask').disabled = false;
  } catch (error) {
    $('status').textContent = `Could not load the model: ${error.message}`;
  } finally {
    $('load').disabled = false;
  }
});

$('ask').addEventListener('click', async () => {
  const file = $('picture').files[0];
  const content = [{ type: 'text', text: $('question').value }];
  // A File is a Blob: the library takes it as an image_url (an extension to OpenAI's API; URLs work too).
  if (file) content.unshift({ type: 'image_url', image_url: { url: file } });
  controller = new AbortController();
  $('ask').disabled = true;
  $('stop').disabled = false;
  $('answer').textContent = '';
  try {
    const stream = await llava.chat.completions.create(
      { messages: [{ role: 'user', content }], stream: true, temperature: 0, max_tokens: 200 },
      { signal: controller.signal },
    );
    for await (const chunk of stream) {
      $('answer').textContent += chunk.choices[0]?.delta.content ?? '';
      if (chunk.choices[0]?.finish_reason) $('answer').dataset.finish = chunk.choices[0].finish_reason;
    }
  } catch (error) {
    if (error.name !== 'AbortError') $('answer').textContent = `Error: ${error.message}`;
  } finally {
    $('ask').disabled = false;
    $('stop').disabled = true;
  }
});

$('stop').addEventListener('click', () => controller?.abort());
