// Owns the LLaVA JSON shapes the data set is written in (LLaVA-Instruct / LCS-558K training records, the eval
// question file and the answers file), and building them from generated questions. No I/O.

import type { InstructionKind, QA, QuestionCategory } from './language';

export interface LlavaTurn {
  from: 'human' | 'gpt';
  value: string;
}

/** One training record as in llava_instruct_150k.json / blip_laion_cc_sbu_558k.json. */
export interface LlavaRecord {
  id: string;
  image?: string;
  conversations: LlavaTurn[];
  /** Not in LLaVA's files: which of the three kinds (or 'caption' for stage 1, 'text' for LM pretraining). */
  kind?: InstructionKind | 'caption' | 'text';
}

/** A line of an eval question file (llava-bench style). */
export interface EvalQuestion {
  question_id: string;
  image: string;
  text: string;
  category: QuestionCategory;
  kind: InstructionKind;
}

/** A line of a reference answers file. */
export interface EvalReference {
  question_id: string;
  text: string;
}

/** A line of the answers file LLaVA's model_vqa scripts write. */
export interface EvalAnswer {
  question_id: string;
  prompt: string;
  text: string;
  answer_id: string;
  model_id: string;
  metadata: Record<string, unknown>;
}

export const IMAGE_PLACEHOLDER = '<image>';

/** A conversation record: the image placeholder opens the first human turn, as LLaVA-Instruct does. */
export function conversationRecord(
  id: string,
  image: string,
  qas: readonly QA[],
  kind: InstructionKind,
): LlavaRecord {
  const conversations: LlavaTurn[] = [];
  qas.forEach((qa, i) => {
    conversations.push({
      from: 'human',
      value: i === 0 ? `${IMAGE_PLACEHOLDER}\n${qa.question}` : qa.question,
    });
    conversations.push({ from: 'gpt', value: qa.answer });
  });
  return { id, image, conversations, kind };
}

/** A stage-1 caption pair in the LCS-558K layout (instruction + image placeholder, caption as the answer). */
export function captionRecord(id: string, image: string, prompt: string, captionText: string): LlavaRecord {
  return {
    id,
    image,
    conversations: [
      { from: 'human', value: `${prompt}\n${IMAGE_PLACEHOLDER}` },
      { from: 'gpt', value: captionText },
    ],
    kind: 'caption',
  };
}

/**
 * A text-only record for language-model pretraining: the scene is given in words where the image will later be,
 * so the small language model learns to read a scene from its context before it ever sees image features.
 */
export function textRecord(id: string, sceneText: string, qas: readonly QA[]): LlavaRecord {
  const conversations: LlavaTurn[] = [];
  qas.forEach((qa, i) => {
    conversations.push({ from: 'human', value: i === 0 ? `${sceneText}\n${qa.question}` : qa.question });
    conversations.push({ from: 'gpt', value: qa.answer });
  });
  return { id, conversations, kind: 'text' };
}
