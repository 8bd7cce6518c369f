// Owns the `/v1/models` shapes: which models a page can answer with, as OpenAI lists them. Pure data shaping.

import type { ModelList, ModelObject } from './types';

export interface ListedModel {
  id: string;
  /** Unix seconds (e.g. when it was stored); 0 when unknown. */
  created?: number;
}

/** The loaded model first, then the rest, each id once. */
export function modelList(loaded: string | null, others: readonly ListedModel[]): ModelList {
  const seen = new Set<string>();
  const data: ModelObject[] = [];
  const add = (model: ListedModel) => {
    if (seen.has(model.id)) return;
    seen.add(model.id);
    data.push({ id: model.id, object: 'model', created: model.created ?? 0, owned_by: 'llava-browser' });
  };
  if (loaded !== null) add({ id: loaded });
  others.forEach(add);
  return { object: 'list', data };
}
