// Owns the tensor naming schemes of LLaVA checkpoints and the mapping from our canonical (llava-hf) names to each:
// llava-hf, the newer transformers `model.language_model.*` layout, and the original LLaVA repo's names with a
// separate CLIP tower. Pure string logic: no files.
import { ConvertError } from './errors';

/**
 * - `llava-hf`: `language_model.model.layers.N…`, `vision_tower.vision_model…`, `multi_modal_projector.linear_1/2`.
 * - `llava-hf-v2`: the in-memory module names of newer transformers (`model.language_model.layers.N…`,
 *   `model.vision_tower…`, `model.multi_modal_projector…`, `lm_head.weight`). `save_pretrained` normally converts
 *   them back to the llava-hf names; files carry them when saved from a raw state dict or by a few releases that
 *   skipped that conversion.
 * - `original`: haotian-liu/LLaVA: `model.layers.N…`, `model.mm_projector.0/2` (or `model.mm_projector` for a
 *   linear projector), `lm_head.weight`; the CLIP tower is a separate checkpoint (`vision_model…`) unless the
 *   LLaVA checkpoint carries it as `model.vision_tower.vision_tower.vision_model…`.
 */
export type CheckpointNaming = 'llava-hf' | 'llava-hf-v2' | 'original';

const PROBES: Array<[CheckpointNaming, string]> = [
  ['llava-hf', 'language_model.model.layers.0.self_attn.q_proj.weight'],
  ['llava-hf-v2', 'model.language_model.layers.0.self_attn.q_proj.weight'],
  ['original', 'model.layers.0.self_attn.q_proj.weight'],
];

/**
 * Finds the naming scheme from the tensor names.
 * @throws ConvertError('unsupported-architecture') when no known decoder layer-0 name is there.
 */
export function detectNaming(has: (name: string) => boolean, sample: readonly string[]): CheckpointNaming {
  for (const [naming, probe] of PROBES) if (has(probe)) return naming;
  throw new ConvertError(
    'unsupported-architecture',
    'The checkpoint has no LLaMA-style decoder layer 0 under a known prefix (language_model.model.layers.0, ' +
      `model.language_model.layers.0 or model.layers.0). First tensor names: ${sample.slice(0, 5).join(', ')}. ` +
      'Only LLaVA checkpoints (llava-hf or the original LLaVA repo) can be converted.',
  );
}

/** Where a canonical tensor lives: in the main checkpoint or in the separate CLIP checkpoint. */
export interface SourceName {
  where: 'main' | 'clip';
  name: string;
}

const LM = 'language_model.model.';
const VT = 'vision_tower.';
const PROJ = 'multi_modal_projector.';

/**
 * Maps a canonical llava-hf tensor name to the name (and checkpoint) it has under `naming`.
 * `projector` matters for the original naming only ('linear' is one nn.Linear: `model.mm_projector.weight`);
 * `mainHasVision` says the original checkpoint carries its own CLIP tower.
 */
export function sourceName(
  canonical: string,
  naming: CheckpointNaming,
  options: { projector?: 'linear' | 'mlp2x_gelu'; mainHasVision?: boolean } = {},
): SourceName {
  if (naming === 'llava-hf') return { where: 'main', name: canonical };
  if (naming === 'llava-hf-v2') {
    if (canonical.startsWith(LM))
      return { where: 'main', name: `model.language_model.${canonical.slice(LM.length)}` };
    if (canonical === 'language_model.lm_head.weight') return { where: 'main', name: 'lm_head.weight' };
    return { where: 'main', name: `model.${canonical}` };
  }
  if (canonical.startsWith(LM)) return { where: 'main', name: `model.${canonical.slice(LM.length)}` };
  if (canonical === 'language_model.lm_head.weight') return { where: 'main', name: 'lm_head.weight' };
  if (canonical.startsWith(PROJ)) {
    const rest = canonical.slice(PROJ.length);
    if ((options.projector ?? 'mlp2x_gelu') === 'linear')
      return { where: 'main', name: `model.mm_projector.${rest.replace(/^linear_1\./, '')}` };
    return {
      where: 'main',
      name: `model.mm_projector.${rest.replace(/^linear_1\./, '0.').replace(/^linear_2\./, '2.')}`,
    };
  }
  if (canonical.startsWith(VT)) {
    const rest = canonical.slice(VT.length);
    return options.mainHasVision === true
      ? { where: 'main', name: `model.vision_tower.vision_tower.${rest}` }
      : { where: 'clip', name: rest };
  }
  return { where: 'main', name: canonical };
}

/** The probe name telling that an original-LLaVA checkpoint carries its own CLIP tower. */
export const ORIGINAL_EMBEDDED_VISION_PROBE =
  'model.vision_tower.vision_tower.vision_model.embeddings.patch_embedding.weight';
