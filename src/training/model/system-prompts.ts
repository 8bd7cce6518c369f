// Owns which system prompts training renders prompts with. Pure data (no tokenizer, so no transformers.js).

import { LLAVA_V1_SYSTEM, VICUNA_V1_SYSTEM } from '../../engine/prompt';

/** The two system prompts the engine's templates write (vicuna_v1: "user"; llava_v1 and the model's template: "human"). */
export const SYSTEM_PROMPTS: readonly string[] = [VICUNA_V1_SYSTEM, LLAVA_V1_SYSTEM];
