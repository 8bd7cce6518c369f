// Owns the OpenAI chat-completions wire shapes this project speaks (a subset of OpenAI's, same field names and types)
// and the engine's own extension fields. Pure types: no logic, no DOM, no engine.

import type { TemplateName } from '../shared/protocol';

/** An image the library accepts in place of a URL string (not part of OpenAI's API). */
export type ImageObject = Blob | ImageBitmap;

export type ChatCompletionContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string | ImageObject; detail?: 'auto' } };

export interface ChatCompletionMessageParam {
  role: 'system' | 'developer' | 'user' | 'assistant';
  content: string | ChatCompletionContentPart[] | null;
}

/** This engine's own request fields, under their own key so that they never collide with OpenAI's. */
export interface LlavaRequestExtras {
  /** Keeps this conversation's KV cache apart from others' (follow-ups reuse it); default: one shared slot. */
  conversation_id?: string;
  /** Conversation template: the model's own chat template (default), Vicuna v1 or LLaVA v1. */
  template?: TemplateName;
  /** 'error' (default) or 'drop-oldest-turns' when the conversation outgrows the context window. */
  context_overflow?: 'error' | 'drop-oldest-turns';
  top_k?: number;
  repetition_penalty?: number;
}

export interface ChatCompletionCreateParams {
  messages: ChatCompletionMessageParam[];
  /** The loaded model's id (see `models.list()`); may be left out in the library. */
  model?: string;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  seed?: number | null;
  stop?: string | string[] | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  n?: number | null;
  user?: string;
  llava?: LlavaRequestExtras;
}

export type ChatCompletionCreateParamsStreaming = ChatCompletionCreateParams & { stream: true };
export type ChatCompletionCreateParamsNonStreaming = ChatCompletionCreateParams & { stream?: false | null };

export interface CompletionUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** `cached_tokens`: prompt tokens whose KV cache was reused from an earlier call. */
  prompt_tokens_details: { cached_tokens: number };
}

export type ChatFinishReason = 'stop' | 'length';

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: {
    index: number;
    message: { role: 'assistant'; content: string; refusal: null };
    logprobs: null;
    finish_reason: ChatFinishReason;
  }[];
  usage: CompletionUsage;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: {
    index: number;
    delta: { role?: 'assistant'; content?: string };
    logprobs: null;
    finish_reason: ChatFinishReason | null;
  }[];
  /** Present (null until the last chunk) only when `stream_options.include_usage` was asked for. */
  usage?: CompletionUsage | null;
}

/** The body of an OpenAI error response (and of an `error` event in a stream). */
export interface OpenAIErrorBody {
  error: {
    message: string;
    type: 'invalid_request_error' | 'server_error' | 'not_found_error';
    param: string | null;
    code: string | null;
  };
}

export interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

export interface ModelList {
  object: 'list';
  data: ModelObject[];
}
